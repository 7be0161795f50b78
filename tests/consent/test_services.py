"""The one write path for consent: every change applied, recorded once, or refused whole."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.audit_chain import verify
from consent.models import ConsentChange, ConsentLevelSnapshot, PurposeConsent, Source
from consent.services import ConsentWish, consent_change, consent_changes_apply, consent_level_snapshot_take
from core.models import ComplianceSettings
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(logging_on):
    return ContactFactory()


def test_a_level_change_writes_exactly_one_record_with_who_what_and_why(contact, privacy_officer):
    records = consent_change(
        contact=contact,
        level=3,
        source=Source.ADMIN,
        actor=privacy_officer,
        channel="phone",
        justification="phone call on 12 May",
        evidence={"ticket": "T-1"},
    )
    assert len(records) == 1 and ConsentChange.objects.count() == 1
    record = ConsentChange.objects.get()
    assert (record.field, record.old_value, record.new_value) == ("consent_given", "0", "3")
    assert (record.source, record.actor, record.channel) == (Source.ADMIN, privacy_officer, "phone")
    assert record.justification == "phone call on 12 May"
    # The caller's evidence, and the wording of the level set (built-in: version 0).
    assert record.evidence == {"ticket": "T-1", "level_wording": {"level": 3, "version": 0, "language": "en"}}
    contact.refresh_from_db()
    assert contact.consent_given == 3


def test_tracking_and_each_purpose_write_one_record_each(contact):
    news = PurposeFactory(slug="news")
    PurposeFactory(slug="events")  # answered by its key below
    consent_change(
        contact=contact, tracking_allowed=True, purposes={news: True, "events": False}, source=Source.IMPORT
    )
    fields = sorted(ConsentChange.objects.values_list("field", "purpose__slug", "old_value", "new_value"))
    assert fields == [
        ("purpose", "events", "", "False"),
        ("purpose", "news", "", "True"),
        ("tracking_allowed", None, "False", "True"),
    ]
    assert dict(PurposeConsent.objects.values_list("purpose__slug", "granted")) == {
        "news": True,
        "events": False,
    }


def test_unchanged_values_write_nothing(contact):
    consent_change(contact=contact, level=2, source=Source.IMPORT)
    assert consent_change(contact=contact, level=2, tracking_allowed=False, source=Source.IMPORT) == []
    assert ConsentChange.objects.count() == 1


def test_with_logging_off_the_change_applies_and_no_record_is_written(db):
    assert ComplianceSettings.load().log_consent_changes is False  # a new installation
    contact = ContactFactory()
    assert consent_change(contact=contact, level=4, source=Source.IMPORT) == []
    contact.refresh_from_db()
    assert contact.consent_given == 4 and not ConsentChange.objects.exists()


def test_a_hand_change_without_justification_changes_nothing(contact, privacy_officer):
    with pytest.raises(ValidationError) as error:
        consent_change(
            contact=contact, level=3, source=Source.ADMIN, actor=privacy_officer, justification="  "
        )
    assert "justification" in error.value.message_dict
    contact.refresh_from_db()
    assert contact.consent_given == 0 and not ConsentChange.objects.exists()


def test_a_child_is_never_raised_to_profiling_by_any_source(logging_on):
    guardian = ContactFactory()
    child = ContactFactory(is_child=True, guardian=guardian)
    for source in (Source.IMPORT, Source.DOUBLE_OPT_IN, Source.API, Source.SYSTEM):
        with pytest.raises(ValidationError, match="Profiling"):
            consent_change(contact=child, level=5, source=source)
    child.refresh_from_db()
    assert child.consent_given == 0 and not ConsentChange.objects.exists()


@pytest.mark.parametrize("source", [Source.SUBSCRIPTION_CENTER, Source.JOURNEY])
def test_raises_from_the_center_or_a_journey_need_double_opt_in_but_lowering_is_allowed(contact, source):
    purpose = PurposeFactory()
    for widening in ({"level": 3}, {"tracking_allowed": True}, {"purposes": {purpose: True}}):
        with pytest.raises(ValidationError, match="double opt-in"):
            consent_change(contact=contact, source=source, **widening)
    consent_change(contact=contact, level=4, source=Source.DOUBLE_OPT_IN)
    consent_change(contact=contact, level=1, source=source)
    contact.refresh_from_db()
    assert contact.consent_given == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"level": 7}, "not a consent level"),
        ({"level": "high"}, "not a consent level"),
        ({"purposes": {"unknown": True}}, "Unknown purpose"),
        ({"level": 2, "effective_at": timezone.now() + timedelta(days=1)}, "future"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(contact, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        consent_change(contact=contact, source=Source.IMPORT, **kwargs)
    assert not ConsentChange.objects.exists()


def test_an_unknown_source_is_refused(contact):
    with pytest.raises(ValidationError, match="Unknown consent source"):
        consent_change(contact=contact, level=1, source="carrier-pigeon")


def test_a_retired_purpose_cannot_be_granted(contact):
    purpose = PurposeFactory(active=False)
    with pytest.raises(ValidationError, match="retired"):
        consent_change(contact=contact, purposes={purpose: True}, source=Source.IMPORT)


def test_records_are_append_only(contact):
    consent_change(contact=contact, level=2, source=Source.IMPORT)
    record = ConsentChange.objects.get()
    record.new_value = "5"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()
    with pytest.raises(PermissionError):
        ConsentChange.objects.update(new_value="5")
    with pytest.raises(PermissionError):
        ConsentChange.objects.all().delete()
    assert ConsentChange.objects.get().new_value == "2"


def test_the_change_lands_in_the_contacts_history_with_actor_and_reason(contact, privacy_officer):
    consent_change(
        contact=contact, level=3, source=Source.ADMIN, actor=privacy_officer, justification="letter"
    )
    latest = contact.history.first()
    assert (latest.consent_given, latest.history_user, latest.history_change_reason) == (
        3,
        privacy_officer,
        "letter",
    )


def test_level_snapshot_counts_each_level_and_replaces_a_same_day_snapshot(logging_on):
    for level in (0, 3, 3, 5):
        consent_change(contact=ContactFactory(), level=level, source=Source.IMPORT)
    assert consent_level_snapshot_take() == 4
    consent_change(contact=ContactFactory(), level=3, source=Source.IMPORT)
    consent_level_snapshot_take()
    today = dict(ConsentLevelSnapshot.objects.values_list("level", "contacts"))
    assert today == {0: 1, 1: 0, 2: 0, 3: 3, 4: 0, 5: 1}


def test_tracking_and_purpose_records_carry_who_how_why_and_evidence(contact, privacy_officer):
    news = PurposeFactory(slug="news")
    evidence = {"ip": "192.0.2.7", "user_agent": "Mozilla/5.0", "wording_version": 3}
    records = consent_change(
        contact=contact,
        tracking_allowed=True,
        purposes={news: True},
        source=Source.ADMIN,
        actor=privacy_officer,
        channel="letter",
        justification="  signed form of 3 May  ",
        evidence=evidence,
    )
    assert len(records) == 2 and ConsentChange.objects.count() == 2
    for record in ConsentChange.objects.all():
        assert (record.source, record.actor, record.channel) == (Source.ADMIN, privacy_officer, "letter")
        assert record.justification == "signed form of 3 May" and record.evidence == evidence
    assert ConsentChange.objects.get(field="purpose").purpose == news


def test_a_withdrawn_purpose_is_recorded_from_yes_to_no(contact):
    news = PurposeFactory(slug="news")
    consent_change(contact=contact, purposes={"news": True}, source=Source.DOUBLE_OPT_IN)
    consent_change(contact=contact, purposes={"news": False}, source=Source.SUBSCRIPTION_CENTER)
    latest = ConsentChange.objects.filter(purpose=news).order_by("id").last()
    assert (latest.old_value, latest.new_value, latest.source) == (
        "True",
        "False",
        Source.SUBSCRIPTION_CENTER,
    )
    assert PurposeConsent.objects.get(contact=contact, purpose=news).granted is False


def test_a_refused_change_applies_no_part_of_it(logging_on):
    news = PurposeFactory(slug="news")
    child = ContactFactory(is_child=True, guardian=ContactFactory())
    with pytest.raises(ValidationError, match="Profiling"):
        consent_change(
            contact=child, level=5, tracking_allowed=True, purposes={news: True}, source=Source.IMPORT
        )
    child.refresh_from_db()
    assert (child.consent_given, child.tracking_allowed) == (0, False)
    assert not PurposeConsent.objects.exists() and not ConsentChange.objects.exists()


def test_a_hand_change_of_purposes_without_justification_changes_nothing(contact, privacy_officer):
    PurposeFactory(slug="news")
    with pytest.raises(ValidationError):
        consent_change(contact=contact, purposes={"news": True}, source=Source.ADMIN, actor=privacy_officer)
    assert not PurposeConsent.objects.exists() and not ConsentChange.objects.exists()


@pytest.mark.parametrize("answer", ["false", "no", 0.5, "True"])
def test_the_tracking_choice_must_be_yes_or_no(contact, answer):
    with pytest.raises(ValidationError, match="yes or no"):
        consent_change(contact=contact, tracking_allowed=answer, source=Source.IMPORT)
    contact.refresh_from_db()
    assert contact.tracking_allowed is False and not ConsentChange.objects.exists()


@pytest.mark.parametrize("level", [True, 4.9, -1, "5.0"])
def test_a_level_must_be_one_of_the_six(contact, level):
    with pytest.raises(ValidationError, match="not a consent level"):
        consent_change(contact=contact, level=level, source=Source.IMPORT)
    contact.refresh_from_db()
    assert contact.consent_given == 0 and not ConsentChange.objects.exists()


def test_a_level_given_as_text_from_a_form_is_accepted(contact):
    consent_change(contact=contact, level="3", source=Source.IMPORT)
    contact.refresh_from_db()
    assert contact.consent_given == 3


def test_a_past_effective_date_is_kept_on_the_record(contact):
    signed = timezone.now() - timedelta(days=3)
    consent_change(contact=contact, level=2, source=Source.IMPORT, effective_at=signed)
    record = ConsentChange.objects.get()
    assert record.effective_at == signed and record.recorded_at > signed


def test_records_cannot_be_rewritten_through_a_contact_or_in_bulk(contact):
    consent_change(contact=contact, level=2, source=Source.IMPORT)
    record = ConsentChange.objects.get()
    record.new_value = "5"
    with pytest.raises(PermissionError), transaction.atomic():
        ConsentChange.objects.bulk_update([record], ["new_value"])
    with pytest.raises(PermissionError):
        contact.consent_changes.update(new_value="5")
    with pytest.raises(PermissionError):
        contact.consent_changes.all().delete()
    assert ConsentChange.objects.get().new_value == "2"


def test_taking_the_snapshot_twice_a_day_keeps_one_row_per_level(logging_on):
    for level in (1, 4):
        consent_change(contact=ContactFactory(), level=level, source=Source.IMPORT)
    day = timezone.localdate()
    assert consent_level_snapshot_take(day=day) == consent_level_snapshot_take(day=day) == 2
    assert ConsentLevelSnapshot.objects.filter(date=day).count() == 6
    assert dict(ConsentLevelSnapshot.objects.values_list("level", "contacts")) == {
        0: 0,
        1: 1,
        2: 0,
        3: 0,
        4: 1,
        5: 0,
    }


SOURCES = [Source.IMPORT, Source.DOUBLE_OPT_IN, Source.SUBSCRIPTION_CENTER, Source.JOURNEY]
CHANGES = st.lists(
    st.fixed_dictionaries(
        {"source": st.sampled_from(SOURCES)},
        optional={
            "level": st.integers(min_value=0, max_value=5),
            "tracking_allowed": st.booleans(),
            "news": st.booleans(),
            "events": st.booleans(),
        },
    ),
    min_size=1,
    max_size=10,
)


def _refused(state: dict, change: dict, *, is_child: bool) -> bool:
    """The rules, stated independently of the service: children stop at Marketing; the center
    and journeys may only narrow (a raise needs double opt-in)."""
    if is_child and change.get("level") == 5:
        return True
    if change["source"] not in (Source.SUBSCRIPTION_CENTER, Source.JOURNEY):
        return False
    return (
        change.get("level", 0) > state["level"]
        or (change.get("tracking_allowed") is True and not state["tracking_allowed"])
        or any(change.get(slug) is True and state[slug] is not True for slug in ("news", "events"))
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES, is_child=st.booleans())
def test_any_sequence_of_changes_ends_in_the_last_accepted_values_with_a_chained_trail(
    logging_on, changes, is_child
):
    purposes = {slug: PurposeFactory(slug=slug) for slug in ("news", "events")}
    guardian = ContactFactory() if is_child else None
    contact = ContactFactory(is_child=is_child, guardian=guardian)
    state = {"level": 0, "tracking_allowed": False, "news": None, "events": None}
    for change in changes:
        kwargs = {key: change[key] for key in ("level", "tracking_allowed") if key in change}
        answers = {purposes[slug]: change[slug] for slug in purposes if slug in change}
        refused = _refused(state, change, is_child=is_child)
        try:
            records = consent_change(contact=contact, source=change["source"], purposes=answers, **kwargs)
        except ValidationError:
            assert refused, change
            continue
        assert not refused, change
        really_changed = [key for key in state if key in change and change[key] != state[key]]
        assert len(records) == len(really_changed)  # one record per value that really changed
        state.update({key: change[key] for key in state if key in change})

    contact.refresh_from_db()
    assert (contact.consent_given, contact.tracking_allowed) == (state["level"], state["tracking_allowed"])
    answers = dict(PurposeConsent.objects.filter(contact=contact).values_list("purpose__slug", "granted"))
    assert answers == {slug: state[slug] for slug in purposes if state[slug] is not None}
    if is_child:
        assert contact.consent_given <= 4
    trails = {
        "level": ("0", ConsentChange.objects.filter(field="consent_given")),
        "tracking_allowed": ("False", ConsentChange.objects.filter(field="tracking_allowed")),
        **{slug: ("", ConsentChange.objects.filter(purpose=purpose)) for slug, purpose in purposes.items()},
    }
    for key, (initial, records) in trails.items():
        values = [initial] + [r.new_value for r in records.filter(contact=contact).order_by("id")]
        olds = [r.old_value for r in records.filter(contact=contact).order_by("id")]
        assert olds == values[:-1], key  # each record starts where the one before it ended
        expected_last = "" if state[key] is None else str(state[key])
        assert values[-1] == expected_last, key


# --- consent_changes_apply: the set-based engine behind consent_change ------------------------


def test_a_batch_refuses_a_group_whole_and_applies_the_others(logging_on, privacy_officer):
    news = PurposeFactory(slug="news")
    adult, other = ContactFactory(), ContactFactory()
    child = ContactFactory(is_child=True, guardian=adult)
    consent_change(contact=child, level=1, source=Source.IMPORT)

    applied = consent_changes_apply(
        groups=[
            # One group for a family: the child's profiling is refused, so the adult's raise goes too.
            [
                ConsentWish(contact_id=adult.pk, level=5, justification="family form"),
                ConsentWish(contact_id=child.pk, level=5, justification="family form"),
            ],
            [ConsentWish(contact_id=other.pk, level=3, purposes={news: True}, justification="form A")],
            # Sees the group before it: 3 -> 4, not 0 -> 4.
            [ConsentWish(contact_id=other.pk, level=4, justification="form B")],
        ],
        source=Source.ADMIN,
        actor=privacy_officer,
    )

    refused, first, second = applied.outcomes
    assert isinstance(refused, ValidationError) and "Profiling" in str(refused)
    adult.refresh_from_db(), child.refresh_from_db(), other.refresh_from_db()
    assert (adult.consent_given, child.consent_given, other.consent_given) == (0, 1, 4)
    assert [(r.field, r.old_value, r.new_value, r.justification) for r in first + second] == [
        ("consent_given", "0", "3", "form A"),
        ("purpose", "", "True", "form A"),
        ("consent_given", "3", "4", "form B"),
    ]
    assert ConsentChange.objects.filter(contact=adult).count() == 0
    # One history row per wish that changed the row, in order, with who and why.
    history = other.history.order_by("history_id")
    assert [(h.consent_given, h.history_change_reason, h.history_user) for h in history][-2:] == [
        (3, "form A", privacy_officer),
        (4, "form B", privacy_officer),
    ]
    assert PurposeConsent.history.filter(contact_id=other.pk).get().history_type == "+"
    assert applied.state[other.pk] == (4, False)
    assert verify().ok


def test_a_batch_without_a_justification_from_the_admin_changes_nothing(logging_on):
    contact = ContactFactory()
    applied = consent_changes_apply(
        groups=[[ConsentWish(contact_id=contact.pk, level=2)]], source=Source.ADMIN
    )
    assert isinstance(applied.outcomes[0], ValidationError)
    contact.refresh_from_db()
    assert contact.consent_given == 0 and not ConsentChange.objects.exists()


def test_a_wish_older_than_the_answer_leaves_it_and_a_group_of_only_such_wishes_is_refused(logging_on):
    import datetime as dt

    news = PurposeFactory(slug="news", name="News")
    march, april = dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    withdrew, silent = ContactFactory(), ContactFactory()
    consent_change(contact=withdrew, purposes={news: False}, source=Source.IMPORT, effective_at=april)

    def older(contact, granted=True):
        return ConsentWish(
            contact_id=contact.pk, purposes={news: granted}, effective_at=march, keep_answers_after=march
        )

    applied = consent_changes_apply(
        groups=[
            [older(withdrew), older(silent)],  # the April answer stays; the one without an answer changes
            [older(withdrew)],  # nothing left to do: refused as older
            # Sees the first group: the March answer it gave is not newer than March.
            [older(silent, granted=False)],
        ],
        source=Source.IMPORT,
    )

    mixed, refused, later = applied.outcomes
    assert [(r.contact_id, r.new_value) for r in mixed] == [(silent.pk, "True")]
    assert isinstance(refused, ValidationError) and refused.code == "older"
    assert refused.messages == [
        "A newer answer for “News” exists (given 2026-04-01 00:00); this change is older."
    ]
    assert [(r.contact_id, r.new_value) for r in later] == [(silent.pk, "False")]
    assert PurposeConsent.objects.get(contact=withdrew).granted is False
    assert PurposeConsent.objects.get(contact=silent).granted is False


def test_a_newer_wish_that_restates_the_answer_still_keeps_an_older_one_from_overwriting_it(logging_on):
    """Two export rows for one person, newest first: the first says what the person already
    answered (nothing changes), the second is older and says the opposite. It is refused."""
    import datetime as dt

    news = PurposeFactory(slug="news", name="News")
    january, march_1, march_2 = (dt.datetime(2026, m, d, tzinfo=dt.UTC) for m, d in ((1, 1), (3, 1), (3, 2)))
    person = ContactFactory()
    consent_change(contact=person, purposes={news: True}, source=Source.IMPORT, effective_at=january)

    def row(granted, at):
        return [
            ConsentWish(
                contact_id=person.pk, purposes={news: granted}, effective_at=at, keep_answers_after=at
            )
        ]

    restated, older = consent_changes_apply(
        groups=[row(True, march_2), row(False, march_1)], source=Source.IMPORT
    ).outcomes
    assert restated == []
    assert isinstance(older, ValidationError) and older.code == "older"
    assert PurposeConsent.objects.get(contact=person).granted is True
