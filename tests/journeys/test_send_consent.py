"""Point-in-time consent: each journey email records the consent it relied on, in the claim's
transaction; later changes leave that record (and the "held at" answer for that moment) as it was;
the compliance export lists it; erasure keeps it as proof without the person."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from consent.held import consent_held_at
from consent.models import ConsentChange, ConsentField, Source
from consent.services import consent_change
from core.models import ComplianceSettings
from dsr.erasure import contacts_erase
from journeys.models import Journey, JourneyStep, SendConsent, StepRun
from journeys.services import journeys_run
from staff.models import AccessLogEntry
from subscriptions.models import SubscriptionList
from tests.factories import make_journey, make_segment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("logging_on")]

WEEK_LATER = timedelta(days=8)


def _records(contact):
    level = ConsentChange.objects.get(contact=contact, field=ConsentField.CONSENT_GIVEN)
    answer = ConsentChange.objects.get(contact=contact, field=ConsentField.PURPOSE)
    return level, answer


def _send(member, smtp, **journey_fields):
    contact = member(level=4, newsletter_yes=True)
    journey = make_journey(**journey_fields)
    journeys_run(now=timezone.now())
    assert len(smtp.messages) == 1
    return contact, journey, SendConsent.objects.get()


def test_a_send_keeps_the_consent_it_relied_on_after_the_contact_withdraws(member, smtp, newsletter):
    news = SubscriptionList.objects.create(name="News", slug="news", purpose=newsletter)
    contact, journey, send = _send(member, smtp, subscription_list=news)
    level_record, answer_record = _records(contact)
    assert send.step_run.status == StepRun.Status.DONE and send.contact == contact
    assert (send.level, send.needed_level, send.records_agree) == (4, journey.min_level, True)
    assert send.answers == [
        {"purpose": newsletter.pk, "name": "Newsletter", "granted": True, "record": answer_record.pk}
    ]
    assert set(send.records.all()) == {level_record, answer_record}

    # She withdraws afterwards: she leaves the journey, and what the send relied on stays.
    consent_change(contact=contact, level=3, purposes={newsletter: False}, source=Source.SUBSCRIPTION_CENTER)
    journeys_run(now=timezone.now() + WEEK_LATER)
    assert len(smtp.messages) == 1 and SendConsent.objects.count() == 1
    send.refresh_from_db()
    assert (send.level, send.answers[0]["granted"]) == (4, True)
    assert set(send.records.all()) == {level_record, answer_record}

    # The contact page's answer for the send's moment says the same, from the same records...
    then = consent_held_at(contact, send.held_at)
    assert then.level == 4 and then.answer_for(newsletter).granted is True
    assert then.answer_for(newsletter).record == answer_record and then.level_record == level_record
    assert {r.pk for r in then.records} == set(send.records.values_list("pk", flat=True))
    # ...while now it says what she chose since.
    now = consent_held_at(contact, timezone.now())
    assert now.level == 3 and now.answer_for(newsletter).granted is False
    assert now.level_record.new_value == "3"


def test_a_send_made_while_records_were_off_says_its_records_do_not_agree(member, smtp, newsletter):
    settings = ComplianceSettings.load()
    settings.log_consent_changes = False
    settings.save()
    _contact, _journey, send = _send(member, smtp)
    assert send.level == 0 and send.answers[0]["granted"] is None and not send.records.exists()
    assert send.records_agree is False


def test_the_compliance_export_lists_each_send_with_its_consent(
    member, smtp, newsletter, client_as, privacy_officer
):
    contact, _journey, _send_consent = _send(member, smtp, name='=HYPERLINK("http://evil.example")')
    level_record, answer_record = _records(contact)
    today = timezone.localdate()
    response = client_as(privacy_officer).get(
        "/admin/dashboard/sends/", {"start": today - timedelta(days=1), "end": today}
    )
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    header, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert len(rows) == 2 and header[0] == "Consent read at"
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:M2"
    assert row["Contact ID"] == contact.pk and row["Level held"] == "4 Marketing"
    assert row["Purpose answers held"] == f"Newsletter: Yes (record #{answer_record.pk})"
    assert f"#{level_record.pk} Consent given: 0 None → 4 Marketing" in row["Change records in force"]
    assert f"#{answer_record.pk} Purpose consent: Newsletter: — → Yes" in row["Change records in force"]
    assert row["Records agree with the contact"] == "Yes"
    # A journey named like a formula stays text (OWASP formula injection).
    journey_cell = sheet.cell(row=2, column=header.index("Journey") + 1)
    assert journey_cell.data_type == "s" and journey_cell.value.startswith("=HYPERLINK")
    entry = AccessLogEntry.objects.get(action=AccessLogEntry.Action.EXPORT_CONSENT)
    assert list(entry.contacts.values_list("contact_id", flat=True)) == [contact.pk]


def test_the_export_of_another_period_has_no_sends_and_a_marketer_gets_none(
    member, smtp, newsletter, client_as, privacy_officer, marketer
):
    _send(member, smtp)
    last_year = timezone.localdate() - timedelta(days=365)
    response = client_as(privacy_officer).get(
        "/admin/dashboard/sends/", {"start": last_year - timedelta(days=30), "end": last_year}
    )
    rows = list(
        load_workbook(BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True)
    )
    assert len(rows) == 1  # the header alone
    refused = client_as(marketer).get("/admin/dashboard/sends/", {"start": last_year, "end": last_year})
    assert refused.status_code == 403
    backwards = client_as(privacy_officer).get(
        "/admin/dashboard/sends/", {"start": "2026-02-01", "end": "2026-01-01"}
    )
    assert backwards.status_code == 302  # back to the dashboard with the form's message


def test_the_dashboard_links_the_send_export_for_who_may_take_it(client_as, privacy_officer, auditor):
    for user in (privacy_officer, auditor):
        page = client_as(user).get("/admin/dashboard/").content.decode()
        assert "/admin/dashboard/sends/" in page and "Sends and the consent they relied on" in page


def test_erasure_keeps_what_a_send_relied_on_without_the_person(member, smtp, newsletter, privacy_officer):
    contact, _journey, send = _send(member, smtp)
    record_ids = set(send.records.values_list("pk", flat=True))
    erasure = contacts_erase(contacts=[contact], actor=privacy_officer, scan=False)
    send.refresh_from_db()
    assert send.contact_id is None and send.level == 4 and send.answers[0]["granted"] is True
    assert set(send.records.values_list("pk", flat=True)) == record_ids
    assert all(r.contact_id is None and r.pseudonymised for r in send.records.all())
    assert erasure.receipt["anonymised"]["Consent relied on by a send"]["rows"] == 1


def test_a_journey_that_sent_email_cannot_be_deleted_and_its_proof_stays(member, smtp, marketer, client_as):
    _contact, journey, send = _send(member, smtp)
    browser = client_as(marketer)
    delete_url = reverse("admin:journeys_journey_delete", args=[journey.pk])
    page = browser.get(delete_url).content.decode()
    assert "Cannot delete customer journey" in page
    assert "the consent relied on by 1 email(s) it sent, kept as proof" in page and "end it" in page
    # Posting the confirmation anyway, or the list's bulk action, deletes nothing.
    browser.post(delete_url, {"post": "yes"})
    listing = reverse("admin:journeys_journey_changelist")
    answer = browser.post(
        listing, {"action": "delete_selected", "_selected_action": [journey.pk], "post": "yes"}
    )
    assert "the consent relied on by 1 email(s) it sent" in answer.content.decode()
    # Nor any other way (shell, a step of it): the database keeps the journey, its steps and the proof.
    with pytest.raises(ProtectedError):
        journey.delete()
    with pytest.raises(ProtectedError):
        JourneyStep.objects.filter(journey=journey).delete()
    assert (
        Journey.objects.filter(pk=journey.pk).exists()
        and JourneyStep.objects.filter(journey=journey).count() == 4
    )
    assert SendConsent.objects.get() == send and send.step_run.status == StepRun.Status.DONE


def test_a_journey_that_never_sent_is_still_deleted(newsletter, marketer, client_as):
    journey = make_journey(segment=make_segment(), live=False)
    delete_url = reverse("admin:journeys_journey_delete", args=[journey.pk])
    client_as(marketer).post(delete_url, {"post": "yes"})
    assert not Journey.objects.filter(pk=journey.pk).exists()
