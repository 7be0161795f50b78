"""Go live, pause, resume and end a journey from its own admin page: each button says what it does
and whom it reaches (the eligibility selector's figure); the services keep paused journeys still."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from journeys.models import Enrolment, Journey
from journeys.selectors import journey_audience
from journeys.services import journey_pause, journey_resume, journeys_run
from tests.factories import make_journey

pytestmark = pytest.mark.django_db


def page_of(client, journey):
    return client.get(reverse("admin:journeys_journey_change", args=[journey.pk]))


def act(client, journey, action, **data):
    return client.post(reverse("admin:journeys_journey_lifecycle", args=[journey.pk, action]), data)


def test_a_drafts_page_offers_go_live_with_the_audience_the_selector_counts(member, marketer, client_as):
    member(first_name="Anna")
    member(first_name="Low", level=3)
    member(first_name="Nope", newsletter_yes=False)
    journey = make_journey(live=False)
    page = page_of(client_as(marketer), journey).content.decode()
    count = journey_audience(journey).count()
    assert count == 1
    assert f"Enrols the {count} contacts who may be processed now" in page
    assert 'id="journey-go-live"' in page and 'id="journey-end"' in page and 'id="journey-pause"' not in page


def test_go_live_from_the_page_calls_the_service_and_says_so(member, marketer, client_as):
    member()
    journey = make_journey(live=False)
    client = client_as(marketer)
    response = act(client, journey, "go-live")
    assert response.status_code == 302
    journey.refresh_from_db()
    assert journey.status == Journey.Status.LIVE and journey.went_live_at is not None
    assert "is live" in client.get(response["Location"]).content.decode()


def test_a_journey_without_steps_does_not_go_live_and_the_page_says_why(member, marketer, client_as):
    journey = make_journey(live=False, steps=())
    client = client_as(marketer)
    page = client.get(act(client, journey, "go-live")["Location"]).content.decode()
    assert "Add at least one step before the journey goes live." in page
    journey.refresh_from_db()
    assert journey.status == Journey.Status.DRAFT


def test_a_paused_journey_neither_enrols_nor_advances_until_it_resumes(member, marketer, client_as, smtp):
    member(first_name="Anna")
    journey = make_journey(steps=("wait", "email"))
    journeys_run()
    enrolment = Enrolment.objects.get()
    client = client_as(marketer)
    assert "Holds the journey: the 1 contacts in it" in page_of(client, journey).content.decode()
    act(client, journey, "pause")
    journey.refresh_from_db()
    assert journey.status == Journey.Status.PAUSED
    member(first_name="Ben")  # qualifies while paused
    Enrolment.objects.filter(pk=enrolment.pk).update(due_at=enrolment.enrolled_at)  # the wait is over
    journeys_run()
    assert Enrolment.objects.count() == 1 and smtp.messages == []
    page = page_of(client, journey).content.decode()
    assert "The 1 contacts in it continue where they stopped; 1 more" in page
    act(client, journey, "resume")
    journeys_run()
    assert Enrolment.objects.count() == 2 and len(smtp.messages) >= 1


def test_end_asks_first_then_ends_the_journey_for_everyone_in_it(member, marketer, client_as):
    member()
    journey = make_journey(steps=("wait", "email"))
    journeys_run()
    client = client_as(marketer)
    asked = act(client, journey, "end")
    assert asked.status_code == 200 and "This cannot be undone." in asked.content.decode()
    journey.refresh_from_db()
    assert journey.status == Journey.Status.LIVE  # nothing changed before the confirmation
    act(client, journey, "end", confirm="yes")
    journey.refresh_from_db()
    assert journey.status == Journey.Status.STOPPED
    assert Enrolment.objects.get().exit_reason == Enrolment.ExitReason.JOURNEY_STOPPED
    assert 'id="journey-end"' not in page_of(client, journey).content.decode()


def test_pause_and_resume_refuse_the_wrong_state(newsletter):
    journey = make_journey(live=False)
    with pytest.raises(ValidationError, match="Only a live journey can be paused"):
        journey_pause(journey=journey)
    with pytest.raises(ValidationError, match="Only a paused journey can resume"):
        journey_resume(journey=journey)


@pytest.mark.parametrize("action", ["unknown", "go-live"])
def test_an_unknown_journey_or_action_is_not_found_and_a_get_changes_nothing(
    newsletter, marketer, client_as, action
):
    client = client_as(marketer)
    assert client.post(reverse("admin:journeys_journey_lifecycle", args=[999999, action])).status_code == 404
    journey = make_journey(live=False)
    response = client.get(reverse("admin:journeys_journey_lifecycle", args=[journey.pk, action]))
    assert response.status_code in (302, 404)
    journey.refresh_from_db()
    assert journey.status == Journey.Status.DRAFT


def test_an_auditor_sees_no_buttons_and_cannot_post_them(member, auditor, client_as):
    journey = make_journey(live=False)
    client = client_as(auditor)
    assert "journey-lifecycle" not in page_of(client, journey).content.decode()
    assert act(client, journey, "go-live").status_code == 403
    journey.refresh_from_db()
    assert journey.status == Journey.Status.DRAFT
