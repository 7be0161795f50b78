"""Journeys as a marketer runs them: the compliance switch, the live lock, stopping, and every exit."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import Source
from consent.selectors import Ineligibility, eligibility_explain, ineligibility_reason
from consent.services import consent_change
from contacts.deliverability import bounce_record
from contacts.services import contact_update
from core.models import ComplianceSettings
from journeys.models import Enrolment, Journey, JourneyTask, StepRun
from journeys.selectors import journey_criteria
from journeys.services import (
    advance,
    journey_create,
    journey_enrol,
    journey_go_live,
    journey_step_add,
    journey_stop,
    journey_update,
    journeys_run,
)
from subscriptions.models import SubscriptionList
from subscriptions.services import subscription_set
from tests.factories import make_journey, make_segment

pytestmark = pytest.mark.django_db
WEEK_LATER = timedelta(days=7, hours=1)


@pytest.fixture
def selection_on(db):
    settings = ComplianceSettings.load()
    settings.min_consent_level_selection_enabled = True
    settings.save()


def test_without_the_compliance_switch_a_journey_uses_marketing_and_refuses_another_minimum(newsletter):
    segment = make_segment()
    journey = journey_create(name="Default", segment=segment)
    assert journey.min_level == 4
    with pytest.raises(ValidationError) as refused:
        journey_create(name="Picky", segment=segment, min_level=5)
    assert "Enable minimum consent level selection" in str(refused.value)
    assert not Journey.objects.filter(name="Picky").exists()


def test_with_the_compliance_switch_a_journey_chooses_its_minimum(newsletter, selection_on):
    journey = journey_create(name="Picky", segment=make_segment(), min_level=5)
    assert journey.min_level == 5
    assert journey_update(journey=journey, min_level=3).min_level == 3


def test_the_minimum_consent_of_a_live_journey_cannot_be_changed(newsletter, selection_on):
    journey = make_journey()
    with pytest.raises(ValidationError) as refused:
        journey_update(journey=journey, min_level=3)
    assert "minimum consent of a live journey cannot be changed" in str(refused.value)
    journey.refresh_from_db()
    assert journey.min_level == 4
    assert journey_update(journey=journey, name="Renamed").name == "Renamed"  # other fields may change


def test_a_journey_goes_live_only_from_draft_and_with_steps(newsletter):
    empty = journey_create(name="Empty", segment=make_segment())
    with pytest.raises(ValidationError, match="at least one step"):
        journey_go_live(journey=empty)
    live = make_journey()
    with pytest.raises(ValidationError, match="Only a draft journey"):
        journey_go_live(journey=live)
    with pytest.raises(ValidationError, match="only be changed while the journey is a draft"):
        journey_step_add(journey=live, kind="wait", wait_days=1)
    assert live.history.count() >= 2


def test_a_step_without_what_it_needs_is_refused(newsletter):
    journey = journey_create(name="Steps", segment=make_segment())
    with pytest.raises(ValidationError, match="needs an email template"):
        journey_step_add(journey=journey, kind="email")
    with pytest.raises(ValidationError, match="number of days"):
        journey_step_add(journey=journey, kind="wait")
    with pytest.raises(ValidationError, match="a user or to a group"):
        journey_step_add(journey=journey, kind="task", task_title="Call")


def test_enrolment_takes_eligible_members_once_and_nobody_twice(member):
    journey = make_journey()
    inside = [member(), member()]
    member(level=3)  # below Marketing
    member(newsletter_yes=False)  # not in the segment
    member(country="FR")
    restricted = member()
    contact_update(contact=restricted, processing_restricted=True)
    assert journey_enrol(journey=journey) == 2
    assert journey_enrol(journey=journey) == 0
    assert {e.contact for e in Enrolment.objects.all()} == set(inside)


def test_a_draft_or_stopped_journey_enrols_nobody(member):
    member()
    draft = make_journey(live=False)
    assert journey_enrol(journey=draft) == 0
    live = make_journey(name="Other", segment=draft.segment)
    journey_stop(journey=live)
    live.refresh_from_db()
    assert journey_enrol(journey=live) == 0


def _leave_by(reason, contact, journey):
    if reason == "below_minimum":
        consent_change(contact=contact, level=3, source=Source.SUBSCRIPTION_CENTER)
    elif reason == "purpose_withdrawn":
        consent_change(contact=contact, purposes={"newsletter": False}, source=Source.SUBSCRIPTION_CENTER)
    elif reason == "restricted":
        contact_update(contact=contact, processing_restricted=True)
    elif reason == "unsubscribed":
        subscription_set(
            contact=contact,
            subscription_list=journey.subscription_list,
            status="unsubscribed",
            source=Source.API,
        )
    elif reason == "erased":
        contact.delete()
    elif reason == "journey_stopped":
        journey_stop(journey=journey)
    elif reason == "undeliverable":  # the provider reported a hard bounce (mailsignals)
        bounce_record(contacts=[contact], hard=True, evidence="test:hard-bounce")


@pytest.mark.parametrize(
    "reason",
    [
        "below_minimum",
        "purpose_withdrawn",
        "restricted",
        "unsubscribed",
        "erased",
        "journey_stopped",
        "undeliverable",
    ],
)
def test_who_no_longer_qualifies_exits_with_the_reason_and_gets_nothing_more(member, smtp, reason):
    news = SubscriptionList.objects.create(name="News", slug="news")
    journey = make_journey(subscription_list=news)
    leaving, staying = member(), member()
    now = timezone.now()
    journeys_run(now=now)
    assert len(smtp.messages) == 2  # the first email reached both
    _leave_by(reason, leaving, journey)
    journeys_run(now=now + WEEK_LATER)
    # The leaver's enrolment: after an erasure it no longer names them (enrolment order is the
    # database's, not the order the contacts were made in).
    enrolment = Enrolment.objects.exclude(contact=staying).get()
    assert enrolment.status == "exited" and enrolment.exit_reason == reason
    assert enrolment.contact_id is None if reason == "erased" else enrolment.contact == leaving
    to_leaver = [m for m in smtp.messages if leaving.email in m["To"]]
    assert len(to_leaver) == 1
    assert not JourneyTask.objects.filter(contact_id=leaving.pk).exists()
    if reason != "journey_stopped":
        assert [m["Subject"] for m in smtp.messages if staying.email in m["To"]] == [
            f"Mail 1 for {staying.first_name}",
            f"Mail 3 for {staying.first_name}",
        ]
        assert JourneyTask.objects.get().contact == staying


@pytest.mark.parametrize("reason", ["unsubscribed", "below_minimum", "restricted", "undeliverable"])
def test_the_exit_reason_is_the_rule_the_eligibility_selector_names(member, smtp, monkeypatch, reason):
    """The reason is not worked out again beside the selector: it is the selector's own rules'."""
    news = SubscriptionList.objects.create(name="News", slug="news")
    journey = make_journey(subscription_list=news)
    leaving = member()
    now = timezone.now()
    journeys_run(now=now)
    _leave_by(reason, leaving, journey)
    named = []

    def explained(**criteria):
        named.append(eligibility_explain(**criteria))
        return named[-1]

    monkeypatch.setattr(advance, "eligibility_explain", explained)
    journeys_run(now=now + WEEK_LATER)
    enrolment = Enrolment.objects.get(contact=leaving)
    assert [e.reasons[0].reason for e in named] == [Ineligibility(reason)]
    assert ineligibility_reason(leaving, **journey_criteria(journey)) == Ineligibility(reason)
    assert (enrolment.status, enrolment.exit_reason) == ("exited", named[0].reasons[0].reason.value)


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        (
            "below_minimum",
            r"^Level Subscriptions is below the Marketing that journey “Welcome” needs \(held on .+ via Subscription center\)\.$",
        ),
        ("purpose_withdrawn", r"^Newsletter answered No on \d{1,2} \w+ \d{4} via Subscription center\.$"),
        ("unsubscribed", r"^Unsubscribed from News on \d{1,2} \w+ \d{4} via API"),
        ("undeliverable", r"^Address undeliverable since .+: the address does not exist \(hard bounce\)\.$"),
        ("restricted", r"^$"),  # a sensitive field: every journey role reads the words; the code says it
    ],
)
def test_a_journey_exit_keeps_the_eligibility_rules_words(member, smtp, logging_on, reason, words):
    news = SubscriptionList.objects.create(name="News", slug="news")
    journey = make_journey(name="Welcome", subscription_list=news)
    leaving = member()
    now = timezone.now()
    journeys_run(now=now)
    _leave_by(reason, leaving, journey)
    journeys_run(now=now + WEEK_LATER)
    enrolment = Enrolment.objects.get(exit_reason=reason)
    assert re.match(words, enrolment.exit_detail), enrolment.exit_detail


def test_a_child_leaving_a_profiling_journey_is_not_named_a_child_in_the_exit(member, smtp, selection_on):
    journey = make_journey(min_level=5)
    child = member(level=4, is_child=True, guardian=member(level=5))
    Enrolment.objects.create(journey=journey, contact=child)
    journeys_run()
    enrolment = Enrolment.objects.get(contact=child)
    assert enrolment.exit_reason == "below_minimum"
    assert enrolment.exit_detail.startswith("Level Marketing is below the Profiling")
    assert "child" not in enrolment.exit_detail.lower()


def test_a_contact_without_an_email_address_exits_instead_of_failing(member, smtp):
    make_journey()
    phone_only = member(email="", phone="+49 30 1234567")
    journeys_run()
    enrolment = Enrolment.objects.get(contact=phone_only)
    assert (enrolment.status, enrolment.exit_reason) == ("exited", "no_email")
    assert smtp.messages == []


def test_a_child_is_never_enrolled_in_a_profiling_journey(member, selection_on, smtp):
    guardian = member()
    child = member(is_child=True, guardian=guardian)
    adult = member(level=5)
    journey = make_journey(min_level=5)
    journeys_run()
    assert {e.contact for e in journey.enrolments.all()} == {adult}
    assert child.email not in " ".join(m["To"] for m in smtp.messages)


def test_a_journey_with_an_enrolment_window_completes_when_everyone_is_through(member, smtp):
    member()
    journey = make_journey(steps=("email",), enrol_until=timezone.now() + timedelta(hours=1))
    journeys_run()
    journey.refresh_from_db()
    assert journey.status == "live"
    journeys_run(now=timezone.now() + timedelta(hours=2))
    journey.refresh_from_db()
    assert journey.status == "completed"
    assert Enrolment.objects.get().status == "completed"


def test_stopping_is_possible_at_any_time(newsletter):
    draft = journey_create(name="Never", segment=make_segment())
    assert journey_stop(journey=draft).status == "stopped"
    assert journey_stop(journey=draft).status == "stopped"  # twice is harmless


def test_the_dashboard_shows_live_journeys_and_exits_by_reason(member, smtp, client_as, auditor):
    journey = make_journey(steps=("email", "wait", "email"))
    leaving = member()
    member()  # stays to the end
    journeys_run()
    consent_change(contact=leaving, level=2, source=Source.IMPORT)  # below Marketing
    journeys_run(now=timezone.now() + WEEK_LATER)
    context = client_as(auditor).get("/admin/dashboard/").context
    assert context["journeys"] == [{"name": journey.name, "active": 0, "completed": 1, "exited": 1}]
    assert context["exits"] == [{"reason": "Consent below the journey's minimum", "exits": 1}]


def test_the_dashboard_counts_sends_interrupted_in_the_hand_over(member, client_as, auditor):
    """A send whose worker died after the hand-over mark is never repeated: the officer learns
    there is one from the dashboard, with the way to whom it was for."""
    journey = make_journey(steps=("email",))
    anna, bob = member(), member()
    journey_enrol(journey=journey, now=timezone.now())
    step = journey.steps.get(position=0)
    client = client_as(auditor)
    assert client.get("/admin/dashboard/").context["interrupted_sends"] == 0
    for contact, status in ((anna, "uncertain"), (bob, "done")):
        StepRun.objects.create(
            enrolment=Enrolment.objects.get(contact=contact),
            step=step,
            status=status,
            claimed_at=timezone.now(),
        )
    page = client.get("/admin/dashboard/")
    assert page.context["interrupted_sends"] == 1
    assert "1 email was interrupted" in page.content.decode()
    listing = client.get("/admin/journeys/enrolment/", {"interrupted": "yes"})
    assert [e.contact_id for e in listing.context["cl"].result_list] == [anna.pk]
