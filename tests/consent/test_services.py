"""The one write path for consent: every change applied, recorded once, or refused whole."""

from datetime import timedelta
from itertools import pairwise

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.models import ComplianceSettings, ConsentChange, ConsentLevelSnapshot, PurposeConsent, Source
from consent.services import consent_change, consent_level_snapshot_take
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
    assert record.justification == "phone call on 12 May" and record.evidence == {"ticket": "T-1"}
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


CHANGES = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "level": st.integers(min_value=0, max_value=5),
            "tracking_allowed": st.booleans(),
            "news": st.booleans(),
        },
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES, is_child=st.booleans())
def test_any_sequence_of_changes_ends_in_the_last_accepted_values_with_a_chained_trail(
    logging_on, changes, is_child
):
    news = PurposeFactory(slug="news")
    guardian = ContactFactory() if is_child else None
    contact = ContactFactory(is_child=is_child, guardian=guardian)
    expected = {"level": 0, "tracking_allowed": False, "news": None}
    for change in changes:
        kwargs = {key: value for key, value in change.items() if key != "news"}
        if "news" in change:
            kwargs["purposes"] = {news: change["news"]}
        try:
            consent_change(contact=contact, source=Source.IMPORT, **kwargs)
        except ValidationError:
            assert is_child and change.get("level") == 5  # the only refusal possible here
            continue
        expected.update(change)
    contact.refresh_from_db()
    assert contact.consent_given == expected["level"]
    assert contact.tracking_allowed == expected["tracking_allowed"]
    answer = PurposeConsent.objects.filter(contact=contact, purpose=news).first()
    assert (answer.granted if answer else None) == expected["news"]
    if is_child:
        assert contact.consent_given <= 4
    for field in ("consent_given", "tracking_allowed", "purpose"):
        trail = list(ConsentChange.objects.filter(contact=contact, field=field).order_by("id"))
        assert all(later.old_value == earlier.new_value for earlier, later in pairwise(trail))
