"""Consent receipts from another system imported through the import machinery: one purpose
answer per receipt, through the consent service, with the receipt's time and what it attests;
a record that cannot be imported is reported with its reason, and a file that is not a receipt
changes nothing (issue 22, scope 5)."""

import datetime as dt
import json

import pytest
import time_machine
from django.core.files.base import ContentFile

from consent.models import ConsentChange, PurposeConsent, Source
from consent.receipts.serialize import contact_receipts
from consent.services import consent_change
from contacts.models import Contact
from core.filescan import Identity
from imports.files import import_upload_redact
from imports.models import ImportedConsent, ImportRun
from imports.services import import_run_start
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def receipts_of_a(purposes, logging_on):
    """Contact A's receipts with the address of someone this database does not know yet."""
    a = ContactFactory(email="a@example.org")
    news = purposes["newsletter"]
    for day, granted in ((1, True), (5, False)):
        with time_machine.travel(dt.datetime(2026, 3, day, 9, tzinfo=dt.UTC), tick=False):
            consent_change(contact=a, purposes={news: granted}, source=Source.DOUBLE_OPT_IN)
    with time_machine.travel(dt.datetime(2026, 3, 7, 9, tzinfo=dt.UTC), tick=False):
        consent_change(contact=a, level=2, source=Source.DOUBLE_OPT_IN)
    document = contact_receipts([a.pk])
    for receipt in document["@graph"]:
        receipt["hasDataSubject"]["hasContact"] = "mailto:fresh@example.org"
    return document


def test_receipts_round_trip_into_a_fresh_contact(source, run_import, receipts_of_a, privacy_officer):
    sent = receipts_of_a["@graph"]
    run = run_import(
        source, json.dumps(receipts_of_a).encode(), name="other-cmp.jsonld", actor=privacy_officer
    )

    assert run.status == ImportRun.Status.DONE, run.error
    assert (run.applied_rows, run.refused_rows) == (2, 1)
    fresh = Contact.objects.get(email="fresh@example.org")
    records = list(ConsentChange.objects.filter(contact=fresh).order_by("pk"))
    # Made by the consent service (source import, sealed), at the receipts' own times.
    assert [(r.source, r.new_value, r.effective_at) for r in records] == [
        ("import", "True", dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)),
        ("import", "False", dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC)),
    ]
    assert all(r.chain_hash for r in records)
    assert records[0].evidence["receipt"] == {
        "receipt": sent[0]["identifier"],
        "recorded_at": "2026-03-01T09:00:00+00:00",
        "method": "double_opt_in",
        "seal": sent[0]["hasTechnicalMeasure"]["hasIdentifier"],
        "status": "https://w3id.org/dpv#ConsentGiven",
    }
    assert PurposeConsent.objects.get(contact=fresh).granted is False
    (refused,) = run.row_errors.all()
    assert refused.row == 3 and "only consent for a purpose" in refused.reason.lower()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b'{"@context": "https://consent-office.invalid/ns/consent-receipt/v1.jsonld", "type": ',
            "not valid JSON",
        ),
        (b'{"@context": "https://example.org/ctx.jsonld", "type": "ConsentRecord"}', "not known here"),
        (
            b'{"@context": "https://consent-office.invalid/ns/consent-receipt/v1.jsonld", "colour": "red"}',
            "colour",
        ),
        (
            b'{"@context": "https://consent-office.invalid/ns/consent-receipt/v1.jsonld", "title": "x"}',
            "no consent record",
        ),
    ],
)
def test_a_file_that_is_no_receipt_is_refused_whole(source, run_import, purposes, content, reason):
    run = run_import(source, content, name="bad.jsonld")
    assert run.status == ImportRun.Status.FAILED and reason in run.error
    assert not Contact.objects.exists() and not ConsentChange.objects.exists()
    assert not ImportedConsent.objects.exists()


def test_an_erasure_drops_a_stored_receipts_file_that_names_the_person(source, receipts_of_a):
    upload = ContentFile(json.dumps(receipts_of_a).encode())
    run = import_run_start(source=source, file=upload, file_name="other-cmp.jsonld")  # queued, not run
    assert import_upload_redact(run_id=run.pk, identities=[Identity(email="someone@example.org")]) == 0
    assert import_upload_redact(run_id=run.pk, identities=[Identity(email="fresh@example.org")]) == 1
    run.refresh_from_db()
    assert not run.file and run.status == ImportRun.Status.FAILED and "erasure" in run.error
