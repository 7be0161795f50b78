"""The nightly retention job (issue 21, scope 4): lapsed consent withdrawn through the consent
service, contacts with nothing left erased through the request's erasure, legal holds respected,
and a run killed half-way finishing like one that was not; with a frozen clock so years pass."""
# ruff: noqa: F811  (newsletter: test_retention's fixture, imported, used by name)

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from consent import lapse
from consent.lapse import retention_run
from consent.models import ConsentChange, PurposeConsent, RetentionClock, RetentionRun, Source
from consent.services import consent_change
from contacts.models import Contact, LegalHold
from contacts.services import contact_update
from dsr.models import DataSubjectRequest, ErasureRecord
from dsr.services import dsr_create, dsr_erase, dsr_start, dsr_verify
from journeys.models import Interaction
from journeys.services.scoring import interaction_record
from reports.compliance_report import compliance_report_data
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services import subscription_set
from tests.consent.test_retention import START, at, newsletter, subscriber  # noqa: F401
from tests.factories import ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("logging_on")]  # records are written


def granted(contact, purpose) -> bool:
    return PurposeConsent.objects.get(contact=contact, purpose=purpose).granted


def test_newsletter_consent_lapses_24_months_after_the_last_click_and_an_open_does_not_reset_it(newsletter):
    with at(START):
        clicker, opener = (
            subscriber(newsletter, "ada@example.org"),
            subscriber(newsletter, "otto@example.org"),
        )
    last_click = START + dt.timedelta(days=200)  # 2024-08-02
    with at(last_click):
        interaction_record(contact=clicker, kind=Interaction.Kind.EMAIL_CLICK, detail="send 1: x")
        interaction_record(contact=opener, kind=Interaction.Kind.EMAIL_OPEN, detail="send 1")

    with at(dt.datetime(2026, 8, 1, 4, 0, tzinfo=dt.UTC)):  # the opener's clock ran from the consent
        run = retention_run()
    assert not granted(opener, newsletter) and granted(clicker, newsletter)
    assert run.state == RetentionRun.State.DONE and run.lapsed == 1

    with at(dt.datetime(2026, 8, 3, 4, 0, tzinfo=dt.UTC)):  # a day past 24 months after the click
        retention_run()
    assert not granted(clicker, newsletter)
    record = ConsentChange.objects.get(contact=clicker, source=Source.RETENTION)
    assert record.purpose == newsletter and record.new_value == "False"
    assert record.evidence["rule"] == "Newsletter" and record.evidence["valid_months"] == 24
    assert record.evidence["clock_date"].startswith("2024-08-02")
    assert record.evidence["lapsed_on"].startswith("2026-08-02")
    assert "lapsed on 2026-08-02" in record.justification


def test_a_list_subscription_lapses_as_an_unsubscribe_with_the_rule_in_its_history(logging_on):
    weekly = SubscriptionList.objects.create(
        name="Weekly", slug="weekly", consent_validity_months=12, validity_clock=RetentionClock.ANSWER
    )
    with at(START):
        contact = ContactFactory(email="ada@example.org")
        subscription_set(contact=contact, subscription_list=weekly, status="subscribed", source=Source.IMPORT)
    with at(START + dt.timedelta(days=367)):
        run = retention_run()
    sub = Subscription.objects.get(contact=contact)
    assert (sub.status, sub.source) == (Subscription.Status.UNSUBSCRIBED, Source.RETENTION)
    assert "Weekly" in sub.history.first().history_change_reason
    assert run.counts[f"list:{weekly.pk}"]["lapsed"] == 1


def test_a_contact_with_nothing_left_is_erased_after_inactivity_naming_the_rule_unless_held(
    newsletter, privacy_officer, client_as
):
    with at(START):
        gone, held, restricted, kept = (
            subscriber(newsletter, f"{name}@example.org") for name in ("gone", "held", "restricted", "kept")
        )
        for contact in (gone, held, restricted):
            consent_change(contact=contact, purposes={newsletter: False}, source=Source.SUBSCRIPTION_CENTER)
        contact_update(contact=restricted, processing_restricted=True, reason="Art. 18 request")
        LegalHold.objects.create(contact=held, reason="Court case 4 O 12/26", until=dt.date(2028, 1, 1))
        LegalHold.objects.create(contact=kept, reason="Tax audit", until=dt.date(2028, 1, 1))

    with at(START + dt.timedelta(days=36 * 31)):  # past 36 months of inactivity
        run = retention_run()

    assert set(Contact.objects.values_list("email", flat=True)) == {
        "held@example.org",
        "restricted@example.org",
        "kept@example.org",
    }
    assert granted(kept, newsletter)  # held: its consent did not lapse either
    erasure = ErasureRecord.objects.get()
    assert erasure.request is None and erasure.contacts_erased == 1
    assert erasure.receipt["retention"]["rule"] == "Newsletter"
    assert erasure.receipt["retention"]["run"] == run.pk
    assert run.erased == 1
    listed = client_as(privacy_officer).get(reverse("admin:dsr_erasurerecord_changelist")).content.decode()
    assert "purpose Newsletter" in listed


def _due(newsletter, n):
    with at(START):
        return [subscriber(newsletter, f"p{i}@example.org") for i in range(n)]


def _outcome(newsletter):
    return (
        sorted(PurposeConsent.objects.filter(purpose=newsletter).values_list("contact__email", "granted")),
        sorted(
            ConsentChange.objects.filter(source=Source.RETENTION).values_list(
                "contact__email", "purpose__slug", "new_value"
            )
        ),
    )


def test_a_run_killed_half_way_and_restarted_ends_like_an_uninterrupted_one(newsletter, monkeypatch):
    _due(newsletter, 5)
    later = START + dt.timedelta(days=800)
    with transaction.atomic(), at(later):  # the uninterrupted run, then everything as before it
        retention_run(batch_size=2)
        uninterrupted = _outcome(newsletter)
        transaction.set_rollback(True)
    assert not ConsentChange.objects.filter(source=Source.RETENTION).exists()

    withdraw, calls = lapse._WITHDRAWALS["purpose"], []

    def dies_in_the_second_batch(**kwargs):
        calls.append(1)
        done = withdraw(**kwargs)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # after the batch's writes, before its commit
        return done

    monkeypatch.setitem(lapse._WITHDRAWALS, "purpose", dies_in_the_second_batch)
    with at(later), pytest.raises(SystemExit):
        retention_run(batch_size=2)
    killed = RetentionRun.objects.get(state=RetentionRun.State.FAILED)
    assert killed.lapsed == 2  # the first batch committed, the second rolled back whole
    monkeypatch.setitem(lapse._WITHDRAWALS, "purpose", withdraw)

    with at(later):
        resumed = retention_run(batch_size=2)
        again = retention_run(batch_size=2)
    assert resumed.lapsed == 3 and again.lapsed == 0
    assert _outcome(newsletter) == uninterrupted  # every consent withdrawn, each recorded once
    assert len(uninterrupted[1]) == 5


def test_a_second_run_while_one_is_alive_is_refused(newsletter):
    with at(START):
        RetentionRun.objects.create(as_of=START, heartbeat_at=START)
        with pytest.raises(lapse.RunInProgress):
            retention_run()
    with at(START + dt.timedelta(hours=1)):  # its worker is gone: taken over
        retention_run()
    assert RetentionRun.objects.filter(state=RetentionRun.State.INTERRUPTED).count() == 1


def test_erasure_by_request_of_a_contact_on_legal_hold_is_refused_and_changes_nothing(
    newsletter, privacy_officer
):
    contact = subscriber(newsletter, "held@example.org")
    LegalHold.objects.create(contact=contact, reason="Court case 4 O 12/26", until=dt.date(2099, 1, 1))
    request, _ = dsr_create(kind="erase", email="held@example.org", channel="web", name="Held")
    dsr_verify(request=request, actor=privacy_officer, how="replied from the address")
    request = dsr_start(request=request, actor=privacy_officer)

    with pytest.raises(ValidationError, match="legal hold until 2099-01-01 \\(Court case 4 O 12/26\\)"):
        dsr_erase(request=request, actor=privacy_officer)

    assert Contact.objects.filter(pk=contact.pk).exists() and not ErasureRecord.objects.exists()
    assert DataSubjectRequest.objects.get(pk=request.pk).status == request.status


def test_the_command_runs_the_job_and_the_preview_page_shows_the_run(
    newsletter, capsys, privacy_officer, client_as
):
    _due(newsletter, 2)
    with at(START + dt.timedelta(days=800)):
        call_command("retention_run", "--batch-size", "1")
    assert "2 consents lapsed, 0 contacts erased" in capsys.readouterr().out
    page = client_as(privacy_officer).get(reverse("admin:consent_purpose_retention")).content.decode()
    assert "purpose Newsletter: 2 / 0" in page


def test_the_compliance_report_counts_lapses_and_erasures_per_month_by_rule(newsletter):
    weekly = SubscriptionList.objects.create(
        name="Weekly", slug="weekly", consent_validity_months=12, validity_clock=RetentionClock.ANSWER
    )
    with at(START):
        lapsing = subscriber(newsletter, "lapsing@example.org")
        subscription_set(contact=lapsing, subscription_list=weekly, status="subscribed", source=Source.IMPORT)
        gone = subscriber(newsletter, "gone@example.org")
        consent_change(contact=gone, purposes={newsletter: False}, source=Source.SUBSCRIPTION_CENTER)
    with at(dt.datetime(2025, 2, 1, 4, 0, tzinfo=dt.UTC)):
        retention_run()  # the list lapses
    with at(dt.datetime(2026, 2, 1, 4, 0, tzinfo=dt.UTC)):
        retention_run()  # the newsletter lapses for one
    with at(dt.datetime(2027, 3, 1, 4, 0, tzinfo=dt.UTC)):
        retention_run()  # 36 months without action: the one with nothing left is erased

    summary, tables = compliance_report_data(start=dt.date(2025, 1, 1), end=dt.date(2027, 12, 31))
    (rows,) = [rows for title, _header, rows in tables if title == "Retention"]
    assert rows == [
        ["2025-02", "Subscription list", "Weekly", 1, 0],
        ["2026-02", "Purpose", "Newsletter", 1, 0],
        ["2027-03", "Purpose", "Newsletter", 0, 1],
    ]
    assert (summary["Consents lapsed (retention)"], summary["Contacts erased (retention)"]) == (2, 1)
