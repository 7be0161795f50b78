"""The Insights tab of a contact's page (issue 25, scope 1): a contact's opens, clicks, visits,
form submissions and events, for officers, and for marketers only while an officer allows it;
every view in the access log; nothing shown and nothing logged for who may not be tracked."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from consent.models import Source
from core.models import ComplianceSettings
from journeys.models import Interaction
from journeys.services import interaction_record
from journeys.tracking import open_record
from staff.models import AccessLogEntry
from tests.admin_helpers import SETTINGS_FORM
from tests.factories import ContactFactory, make_journey, with_consent

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def insights_url(contact) -> str:
    return reverse("contact-insights", args=[contact.pk])


def contact_url(contact) -> str:
    return reverse("admin:contacts_contact_change", args=[contact.pk])


def insight_views(contact=None) -> int:
    entries = AccessLogEntry.objects.filter(action=AccessLogEntry.Action.INSIGHTS)
    if contact is not None:
        entries = entries.filter(contacts__contact_id=contact.pk)
    return entries.count()


@pytest.fixture
def tracked():
    """A contact who allows tracking, with one interaction of each kind."""
    contact = with_consent(ContactFactory(first_name="Tilda"), level=4, tracking_allowed=True)
    for offset, (kind, detail) in enumerate(
        [
            (Interaction.Kind.PAGE_VISIT, "https://shop.example.org/spring"),
            (Interaction.Kind.FORM_SUBMIT, "Contact us form"),
            (Interaction.Kind.EVENT_ATTEND, "Spring fair Berlin"),
        ]
    ):
        interaction_record(contact=contact, kind=kind, at=WHEN + timedelta(days=offset), detail=detail)
    return contact


def test_an_officer_sees_interactions_with_dates_and_sources_and_the_view_is_logged(
    client_as, privacy_officer, tracked
):
    client = client_as(privacy_officer)
    page = client.get(contact_url(tracked)).content.decode()
    assert insights_url(tracked) in page  # the tab on the contact's page

    response = client.get(insights_url(tracked))
    assert response.status_code == 200
    text = response.content.decode()
    for words in (
        "Page visited",
        "Form submitted",
        "Event attended",
        "Spring fair Berlin",
        "2026-03-04 09:30",
    ):
        assert words in text
    entry = AccessLogEntry.objects.get(action=AccessLogEntry.Action.INSIGHTS)
    assert entry.user == privacy_officer
    assert list(entry.contacts.values_list("contact_id", flat=True)) == [tracked.pk]


def test_an_email_open_names_the_journey_and_email_it_came_from(
    client_as, privacy_officer, tracked, newsletter
):
    from journeys.models import Enrolment, StepRun

    journey = make_journey(name="Spring campaign", steps=("email",), live=False)
    step = journey.steps.get()
    enrolment = Enrolment.objects.create(journey=journey, contact=tracked)
    send = StepRun.objects.create(
        enrolment=enrolment, step=step, claimed_at=WHEN, status="done", done_at=WHEN
    )
    assert open_record(send_id=send.pk) is not None

    text = client_as(privacy_officer).get(insights_url(tracked)).content.decode()
    assert "Email opened" in text and "Spring campaign — Mail 1" in text


def test_a_marketer_without_the_grant_sees_no_insights_and_nothing_is_logged(client_as, marketer, tracked):
    client = client_as(marketer)
    assert insights_url(tracked) not in client.get(contact_url(tracked)).content.decode()
    response = client.get(insights_url(tracked))
    assert response.status_code == 403
    assert "Spring fair Berlin" not in response.content.decode()
    assert insight_views() == 0


def test_an_auditor_and_an_outsider_are_refused(client_as, auditor, outsider, tracked):
    for user in (auditor, outsider):
        assert client_as(user).get(insights_url(tracked)).status_code in (302, 403)
    assert insight_views() == 0


def test_an_officer_grants_marketers_in_the_settings_and_the_grant_is_in_its_history(
    client_as, privacy_officer, marketer, tracked
):
    settings_url = reverse("admin:core_compliancesettings_change", args=[1])
    ComplianceSettings.load()
    form = {**SETTINGS_FORM, "marketers_see_insights": "on"}
    assert client_as(privacy_officer).post(settings_url, form).status_code == 302
    grant = ComplianceSettings.history.first()
    assert grant.marketers_see_insights is True and grant.history_user == privacy_officer

    client = client_as(marketer)
    assert insights_url(tracked) in client.get(contact_url(tracked)).content.decode()
    assert "Spring fair Berlin" in client.get(insights_url(tracked)).content.decode()
    assert insight_views(tracked) == 1

    # Switched off again: marketers are refused at once.
    assert client_as(privacy_officer).post(settings_url, SETTINGS_FORM).status_code == 302
    assert client.get(insights_url(tracked)).status_code == 403
    assert insight_views(tracked) == 1


def test_a_contact_who_withdrew_tracking_shows_nothing_and_nothing_is_logged(
    client_as, privacy_officer, tracked
):
    with_consent(tracked, tracking_allowed=False, source=Source.SUBSCRIPTION_CENTER)
    assert Interaction.objects.filter(contact=tracked).exists()  # kept rows, not yet purged

    client = client_as(privacy_officer)
    assert insights_url(tracked) not in client.get(contact_url(tracked)).content.decode()
    response = client.get(insights_url(tracked))
    assert response.status_code == 200
    text = response.content.decode()
    assert "No marketing insights are shown" in text and "Spring fair Berlin" not in text
    assert insight_views() == 0


def test_a_child_shows_nothing_whatever_is_stored_and_nothing_is_logged(client_as, privacy_officer):
    guardian = with_consent(ContactFactory(), level=4, tracking_allowed=True)
    child = with_consent(ContactFactory(is_child=True, guardian=guardian), level=4, tracking_allowed=True)
    # A row from before the contact was known to be a child.
    Interaction.objects.create(contact=child, kind=Interaction.Kind.PAGE_VISIT, at=WHEN, detail="kids page")

    client = client_as(privacy_officer)
    assert insights_url(child) not in client.get(contact_url(child)).content.decode()
    text = client.get(insights_url(child)).content.decode()
    assert "No marketing insights are shown" in text and "kids page" not in text
    assert insight_views() == 0


def test_an_unknown_contact_is_not_found(client_as, privacy_officer):
    assert client_as(privacy_officer).get(reverse("contact-insights", args=[999999])).status_code == 404
    assert insight_views() == 0
