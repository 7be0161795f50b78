"""Retention (issue 21, scopes 1, 2 and 5): rules as data per purpose and list, the person's last
real action as the clock, and the admin's preview of what lapses and who is erased, with a frozen
clock so months pass."""

import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from consent.models import RetentionClock, Source
from consent.retention import retention_preview
from consent.services import consent_change
from contacts.models import Contact, LegalHold
from journeys.models import Interaction
from journeys.services.scoring import interaction_record
from subscriptions.models import Subscription, SubscriptionList
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2024, 1, 15, 10, 0, tzinfo=dt.UTC)


def at(moment):
    return time_machine.travel(moment, tick=False)


def figures(record):
    (preview,) = [p for p in retention_preview() if p.record == record]
    return preview


@pytest.fixture
def newsletter():
    return PurposeFactory(
        slug="newsletter",
        name="Newsletter",
        consent_validity_months=24,
        validity_clock=RetentionClock.LAST_ACTION,
        inactivity_months=36,
    )


def subscriber(newsletter, email="ada@example.org"):
    contact = ContactFactory(email=email)
    consent_change(
        contact=contact, level=4, tracking_allowed=True, purposes={newsletter: True}, source=Source.IMPORT
    )
    return contact


def test_a_consent_lapses_24_months_after_the_last_click_not_the_last_open(newsletter):
    with at(START):
        clicker, opener = subscriber(newsletter), subscriber(newsletter, "otto@example.org")
    last_click = START + dt.timedelta(days=200)
    with at(last_click):
        interaction_record(contact=clicker, kind=Interaction.Kind.EMAIL_CLICK, detail="send 1: x")
        interaction_record(contact=opener, kind=Interaction.Kind.EMAIL_OPEN, detail="send 1")
    clicker.refresh_from_db()
    opener.refresh_from_db()
    assert clicker.last_action_at == last_click
    assert opener.last_action_at == START  # the consent itself; the open moved nothing

    lapse = dt.datetime(2026, 8, 2, 10, 0, tzinfo=dt.UTC)  # 24 months after the click
    with at(lapse - dt.timedelta(days=60)):
        preview = figures(newsletter)
        # The opener's clock ran from the consent and is overdue; the clicker lapses in 60 days.
        assert preview.lapsing == {30: 1, 90: 2}
    with at(lapse - dt.timedelta(days=10)):
        assert figures(newsletter).lapsing == {30: 2, 90: 2}


def test_a_consent_counted_from_the_answer_ignores_later_clicks(newsletter):
    newsletter.validity_clock = RetentionClock.ANSWER
    newsletter.save()
    with at(START):
        contact = subscriber(newsletter)
    with at(START + dt.timedelta(days=300)):
        interaction_record(contact=contact, kind=Interaction.Kind.EMAIL_CLICK, detail="send 1: x")
    with at(START + dt.timedelta(days=24 * 30 + 5)):  # 24 months after the answer, within days
        assert figures(newsletter).lapsing[30] == 1


def test_a_contact_with_nothing_left_is_counted_for_erasure_unless_on_legal_hold(newsletter, privacy_officer):
    with at(START):
        contact = subscriber(newsletter)
        kept = subscriber(newsletter, "still@example.org")
        consent_change(contact=contact, purposes={newsletter: False}, source=Source.SUBSCRIPTION_CENTER)
    # Kept renewed at the subscription centre two years later: their consent still holds.
    with at(START + dt.timedelta(days=700)):
        consent_change(contact=kept, purposes={newsletter: True}, source=Source.SUBSCRIPTION_CENTER)
    past_inactivity = START + dt.timedelta(days=36 * 30 + 20)  # 36 months later, within 30 days
    with at(past_inactivity):
        assert figures(newsletter).erased == {30: 1, 90: 1}
        assert figures(newsletter).lapsing == {30: 0, 90: 0}

        LegalHold.objects.create(contact=contact, reason="Court case 4 O 12/26", until=dt.date(2027, 12, 31))

        assert figures(newsletter).erased == {30: 0, 90: 0}


def test_a_hold_ending_before_the_horizon_no_longer_keeps(newsletter):
    with at(START):
        contact = subscriber(newsletter)
        consent_change(contact=contact, purposes={newsletter: False}, source=Source.SUBSCRIPTION_CENTER)
    with at(START + dt.timedelta(days=36 * 30 + 20)):
        LegalHold.objects.create(
            contact=contact, reason="Tax audit", until=timezone.localdate() + dt.timedelta(days=40)
        )
        assert figures(newsletter).erased == {30: 0, 90: 1}


def test_a_consent_of_a_contact_on_legal_hold_is_not_counted_as_lapsing(newsletter):
    """The nightly job lapses nothing of a contact on hold (tests/consent/test_lapse.py): the
    preview must not promise otherwise."""
    with at(START):
        held = subscriber(newsletter)
        subscriber(newsletter, "otto@example.org")
    with at(START + dt.timedelta(days=24 * 30 + 20)):
        assert figures(newsletter).lapsing == {30: 2, 90: 2}
        LegalHold.objects.create(
            contact=held, reason="Court case", until=timezone.localdate() + dt.timedelta(days=60)
        )
        # Held through day 30, no longer at day 90.
        assert figures(newsletter).lapsing == {30: 1, 90: 2}


def test_a_legal_basis_keeps_customers_longer_than_the_inactivity_period():
    customers = SubscriptionList.objects.create(
        name="Customers",
        slug="customers",
        inactivity_months=12,
        hold_basis="legal_obligation",
        hold_months=120,
    )
    with at(START):
        contact = ContactFactory(email="buyer@example.org")
        Subscription.objects.create(
            contact=contact,
            subscription_list=customers,
            status=Subscription.Status.UNSUBSCRIBED,
            source="admin",
        )
    with at(START + dt.timedelta(days=400)):
        assert figures(customers).erased[90] == 0
    with at(START + dt.timedelta(days=365 * 10 + 10)):
        assert figures(customers).erased[90] == 1


def test_a_stale_instance_saved_later_does_not_roll_the_last_action_back(newsletter):
    with at(START):
        contact = subscriber(newsletter)
    stale = Contact.objects.get(pk=contact.pk)
    with at(START + dt.timedelta(days=10)):
        interaction_record(contact=contact, kind=Interaction.Kind.EMAIL_CLICK, detail="send 1: x")
    stale.first_name = "Ada"
    stale.save()
    contact.refresh_from_db()
    assert contact.first_name == "Ada"
    assert contact.last_action_at == START + dt.timedelta(days=10)
    assert contact.history.first().first_name == "Ada"  # the save still writes its history


def test_the_record_of_processing_states_the_rules_in_english_and_german(newsletter):
    newsletter.hold_basis, newsletter.hold_months, newsletter.retention = "legal_obligation", 120, "CNIL"
    assert newsletter.retention_words() == [
        "Consent lapses 24 months after the person's last action unless it is renewed.",
        "A contact with nothing left is erased 36 months after their last action.",
        "On the basis of Legal obligation (Art. 6(1)(c)), data is kept 120 months after the last action.",
        "Notes: CNIL",
    ]
    with translation.override("de"):
        words = newsletter.retention_words()
    assert (
        words[0]
        == "Die Einwilligung erlischt 24 Monate nach der letzten Aktion der Person, wenn sie nicht erneuert wird."
    )
    assert "36 Monate" in words[1] and "Rechtliche Verpflichtung" in words[2]


def test_the_officer_sees_the_preview_and_downloads_the_list(client_as, privacy_officer, newsletter):
    with at(START):
        contact = subscriber(newsletter)
    with at(START + dt.timedelta(days=24 * 30)):
        page = client_as(privacy_officer).get(reverse("admin:consent_purpose_retention"))
        assert page.status_code == 200
        assert b'data-lapsing="30">1<' in page.content
        export = client_as(privacy_officer).get(reverse("admin:consent_purpose_retention_export"))
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    rows = list(sheet.values)
    assert rows[1][:4] == ("Purpose", "Newsletter", "Consent lapses", contact.pk)
    assert rows[1][5] == "ada@example.org"


def test_other_roles_see_no_list_of_people(client_as, marketer, auditor, outsider):
    preview, export = (
        reverse("admin:consent_purpose_retention"),
        reverse("admin:consent_purpose_retention_export"),
    )
    for user in (marketer, outsider):
        assert client_as(user).get(preview).status_code == 403
        assert client_as(user).get(export).status_code == 403
    assert client_as(auditor).get(preview).status_code == 200
    assert client_as(auditor).get(export).status_code == 403


def test_the_contact_page_shows_the_hold_and_its_history_keeps_the_reason(
    client_as, privacy_officer, newsletter
):
    contact = subscriber(newsletter)
    form = {"contact": contact.pk, "reason": "Pending court case 4 O 12/26", "until": "2027-06-30"}
    added = client_as(privacy_officer).post(reverse("admin:contacts_legalhold_add"), form)
    assert added.status_code == 302
    hold = LegalHold.objects.get(contact=contact)
    assert hold.created_by == privacy_officer
    assert hold.history.get().history_change_reason == "Pending court case 4 O 12/26"
    page = client_as(privacy_officer).get(reverse("admin:contacts_contact_change", args=[contact.pk]))
    assert b"Pending court case 4 O 12/26 (2027-06-30)" in page.content


def test_the_purposes_page_leads_officers_to_the_preview(client_as, privacy_officer, marketer):
    link = reverse("admin:consent_purpose_retention").encode()
    assert link in client_as(privacy_officer).get(reverse("admin:consent_purpose_changelist")).content
    assert link not in client_as(marketer).get(reverse("admin:consent_purpose_changelist")).content
