"""Consent receipts (ISO/IEC TS 27560, JSON-LD with DPV) of a demo-like contact: every term
resolves to an IRI of the bundled context, the receipt verifies against the audit chain, and a
receipt whose status or time was changed does not (issue 22, scope 5)."""

import json

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentChange, Source
from consent.receipts.jsonld import DCT, DPV, ReceiptUnreadable, expand
from consent.receipts.serialize import consent_status, contact_receipts
from consent.receipts.verify import receipt_verify
from consent.services import consent_change
from staff.models import AccessLogEntry
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db
VOCABULARIES = (DPV, DCT, "http://www.w3.org/2001/XMLSchema#", "https://w3id.org/dpv/")


@pytest.fixture
def history(logging_on, privacy_officer):
    """A demo-like year: a level raised, a purpose given, withdrawn and given again, tracking on."""
    contact = ContactFactory(email="ada@example.org")
    news = PurposeFactory(slug="news", name="Newsletter", data_categories="email address")
    consent_change(contact=contact, level=3, source=Source.DOUBLE_OPT_IN, evidence={"ip": "192.0.2.1"})
    for granted in (True, False, True):
        consent_change(contact=contact, purposes={news: granted}, source=Source.DOUBLE_OPT_IN)
    consent_change(
        contact=contact,
        tracking_allowed=True,
        source=Source.ADMIN,
        actor=privacy_officer,
        justification="asked by phone",
    )
    return contact


def _iris(node):
    """Every property and type IRI in an expanded document."""
    if isinstance(node, list):
        for item in node:
            yield from _iris(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if not key.startswith("@"):
                yield key
            elif key == "@type":
                yield from value if isinstance(value, list) else [value]
            yield from _iris(value)


def test_a_receipt_expands_to_dpv_terms_only(history):
    document = contact_receipts([history.pk])
    assert len(document["@graph"]) == 5
    expanded = expand(document)  # no network: only the bundled context loads
    assert expanded and all(iri.startswith(VOCABULARIES) for iri in _iris(expanded))
    statuses = [r["hasConsentStatus"] for r in document["@graph"]]
    assert statuses == [
        "ConsentGiven",
        "ConsentGiven",
        "ConsentWithdrawn",
        "RenewedConsentGiven",
        "ConsentGiven",
    ]
    assert document["@graph"][0]["hasNotice"]["identifier"] == "level-wording:3"  # the words agreed to
    first = document["@graph"][1]
    assert first["hasPurpose"]["title"] == "Newsletter"
    assert first["hasDataSubject"]["hasContact"] == "mailto:ada@example.org"


@pytest.mark.parametrize(
    ("field", "old", "new", "source", "status"),
    [
        ("consent_given", "0", "3", "double_opt_in", "ConsentGiven"),
        ("consent_given", "3", "4", "double_opt_in", "ConsentGiven"),  # the higher level, first given
        ("consent_given", "4", "2", "subscription_center", "ConsentWithdrawn"),
        ("purpose", "", "False", "import", "ConsentRefused"),
        ("purpose", "False", "True", "double_opt_in", "RenewedConsentGiven"),
        ("purpose", "True", "False", "retention", "ConsentExpired"),
        ("tracking_allowed", "False", "True", "admin", "ConsentGiven"),
        ("tracking_allowed", "True", "False", "admin", "ConsentWithdrawn"),
    ],
)
def test_each_change_has_its_dpv_consent_status(field, old, new, source, status):
    assert consent_status(ConsentChange(field=field, old_value=old, new_value=new, source=source)) == status


def test_unknown_terms_and_remote_contexts_are_refused_not_dropped(history):
    receipt = contact_receipts([history.pk])["@graph"][0] | {"@context": contact_receipts([])["@context"]}
    with pytest.raises(ReceiptUnreadable, match="no context defines: colour"):
        expand(receipt | {"colour": "red"})
    with pytest.raises(ReceiptUnreadable, match="not known here"):
        expand(receipt | {"@context": "https://example.org/context.jsonld"})


def test_receipts_verify_against_the_chain(history, tmp_path, capsys):
    document = contact_receipts([history.pk])
    assert all(check.ok for check in receipt_verify(document))
    path = tmp_path / "receipt.jsonld"
    path.write_text(json.dumps(document))
    call_command("verify_consent_receipt", str(path))
    assert "5 receipts verify" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("key", "forged", "problem"),
    [
        ("hasConsentStatus", "ConsentGiven", "the consent status differs"),
        ("isIndicatedAtTime", "2020-01-01T00:00:00Z", "the time consent was given or withdrawn differs"),
    ],
)
def test_a_tampered_receipt_fails(history, tmp_path, key, forged, problem):
    document = contact_receipts([history.pk])
    withdrawal = document["@graph"][2]
    withdrawal[key] = forged
    (check,) = [c for c in receipt_verify(document) if not c.ok]
    assert check.identifier == withdrawal["identifier"] and check.problems == [
        f"{problem} from the sealed record"
    ]
    path = tmp_path / "receipt.jsonld"
    path.write_text(json.dumps(document))
    with pytest.raises(CommandError, match="1 of 5 receipts do not verify"):
        call_command("verify_consent_receipt", str(path))


def test_a_record_edited_in_the_database_fails_its_receipt(history):
    from tests.tamper import tamper

    document = contact_receipts([history.pk])
    record = ConsentChange.objects.order_by("pk")[2]
    tamper("UPDATE consent_consentchange SET new_value = 'True' WHERE id = %s", [record.pk])
    checks = receipt_verify(document)
    assert [c.ok for c in checks] == [True, True, False, True, True]
    assert "fails the audit chain" in checks[2].problems[0]


def _period(client, **dates):
    return client.get(reverse("admin:consent_consentchange_receipts"), dates)


def test_an_auditor_downloads_the_receipts_of_a_period(history, auditor, client_as):
    with time_machine.travel("2026-02-10 12:00Z"):
        consent_change(contact=ContactFactory(), level=2, source=Source.DOUBLE_OPT_IN)
    today = str(timezone.localdate())
    response = _period(client_as(auditor), start=today, end=today)
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.jsonl"')
    receipts = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert len(receipts) == 5  # today's records, not February's
    assert all(check.ok for receipt in receipts for check in receipt_verify(receipt))
    entry = AccessLogEntry.objects.get(action="export_consent")
    assert list(entry.contacts.values_list("contact_id", flat=True)) == [history.pk]


def test_the_period_export_is_refused_to_other_roles_and_bad_periods(
    history, auditor, marketer, outsider, client_as
):
    assert _period(client_as(marketer), start="2026-01-01", end="2026-01-31").status_code == 403
    assert _period(client_as(outsider), start="2026-01-01", end="2026-01-31").status_code == 403
    refused = _period(client_as(auditor), start="2026-02-01", end="2026-01-01")
    assert refused.status_code == 400 and "must end on or after" in refused.text
    assert not AccessLogEntry.objects.exists()
