"""The contact page's "What did we hold on date X?": from the consent change records recorded until
then (consent.held), not from the contact now; only for who may read past consent; logged."""

import pytest
from django.utils import timezone

from consent.held import consent_held_at
from consent.models import ConsentChange, ConsentField, Source
from consent.services import consent_change
from staff.models import AccessLogEntry
from tests.factories import ContactFactory, PurposeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("logging_on")]


@pytest.fixture
def story(db):
    """A contact who said yes at Marketing, then withdrew: (contact, newsletter, first records)."""
    newsletter = PurposeFactory(slug="newsletter", name="Newsletter")
    contact = ContactFactory(first_name="Holly")
    first = consent_change(contact=contact, level=4, purposes={newsletter: True}, source=Source.IMPORT)
    consent_change(contact=contact, level=2, purposes={newsletter: False}, source=Source.SUBSCRIPTION_CENTER)
    return contact, newsletter, {r.field: r for r in first}


def _asked(moment) -> dict:
    local = timezone.localtime(moment)
    return {"date": local.date().isoformat(), "time": local.strftime("%H:%M:%S.%f")}


def url(contact) -> str:
    return f"/admin/contacts/contact/{contact.pk}/held/"


def test_the_officer_sees_what_was_held_then_with_the_records_that_set_it(story, client_as, privacy_officer):
    contact, _newsletter, first = story
    level_record = first[ConsentField.CONSENT_GIVEN]
    moment = max(r.recorded_at for r in first.values())  # her first answers, before she withdrew
    page = client_as(privacy_officer).get(url(contact), _asked(moment)).content.decode()
    held = page[page.index('id="consent-held"') :]
    assert "4 Marketing" in held and "2 Transactional" not in held
    assert f">#{level_record.pk}</a>" in held and f">#{first[ConsentField.PURPOSE].pk}</a>" in held
    newsletter_row = held[held.index("Purpose: Newsletter") :].split("</tr>")[0]
    assert "<td>Yes</td>" in newsletter_row
    # Today, by the end of the day: what she chose last.
    today = client_as(privacy_officer).get(url(contact), {"date": timezone.localdate().isoformat()})
    now_row = today.content.decode().split("Purpose: Newsletter")[1].split("</tr>")[0]
    assert "<td>No</td>" in now_row and "2 Transactional" in today.content.decode()


def test_before_any_record_nothing_was_held(story):
    contact, newsletter, first = story
    before = consent_held_at(
        contact, first[ConsentField.CONSENT_GIVEN].recorded_at - timezone.timedelta(seconds=1)
    )
    assert before.level == 0 and before.records == [] and before.answer_for(newsletter).granted is None


def test_a_record_entered_later_with_an_earlier_effective_date_was_not_held_before(story):
    contact, _newsletter, _first = story
    asked = timezone.now()
    consent_change(
        contact=contact,
        level=5,
        source=Source.IMPORT,
        effective_at=asked - timezone.timedelta(days=30),
    )
    assert consent_held_at(contact, asked).level == 2
    assert consent_held_at(contact, timezone.now()).level == 5


def test_the_page_is_refused_to_who_may_not_read_past_consent_and_is_logged(
    story, client_as, privacy_officer, auditor, marketer, outsider
):
    contact, _newsletter, _first = story
    question = {"date": timezone.localdate().isoformat()}
    for user in (marketer, outsider):
        assert client_as(user).get(url(contact), question).status_code == 403
        assert not AccessLogEntry.objects.filter(user=user).exists()
    assert (
        "held/"
        not in client_as(marketer).get(f"/admin/contacts/contact/{contact.pk}/change/").content.decode()
    )
    assert f"/admin/contacts/contact/{contact.pk}/held/" in (
        client_as(privacy_officer).get(f"/admin/contacts/contact/{contact.pk}/change/").content.decode()
    )
    assert client_as(auditor).get(url(contact), question).status_code == 200
    client_as(privacy_officer).get(url(contact), question)
    entry = AccessLogEntry.objects.get(user=privacy_officer, action=AccessLogEntry.Action.HISTORY)
    assert entry.contacts.get().contact_id == contact.pk


@pytest.mark.parametrize(
    "question, error",
    [
        ({"date": "yesterday-ish"}, "Enter a valid date."),
        ({"date": "2999-01-01"}, "Pick a moment that has passed"),
    ],
)
def test_a_bad_date_is_an_error_on_the_page_not_an_answer(story, client_as, privacy_officer, question, error):
    contact, _newsletter, _first = story
    response = client_as(privacy_officer).get(url(contact), question)
    assert response.status_code == 200
    page = response.content.decode()
    assert error in page and 'id="consent-held"' not in page


def test_the_records_are_the_change_records_in_force(story):
    contact, newsletter, _first = story
    held = consent_held_at(contact, timezone.now())
    latest = ConsentChange.objects.filter(contact=contact).order_by("-recorded_at", "-id")
    assert {r.pk for r in held.records} == {
        latest.filter(field=ConsentField.CONSENT_GIVEN).first().pk,
        latest.filter(field=ConsentField.PURPOSE, purpose=newsletter).first().pk,
    }
