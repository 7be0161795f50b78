"""Consent change records as consent records in the ISO/IEC TS 27560:2023 structure, written in
JSON-LD with the W3C Data Privacy Vocabulary (DPV), one receipt per record.

A receipt says only what the sealed record says (status, times, purpose, subject, channel) plus
the organisation's details and the purpose's words as they are now; it carries the record's chain
hash, so consent.receipts.verify can prove it against the audit chain later.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from django.conf import settings

from consent.audit_chain import subject_hash
from consent.models import ConsentChange, ConsentField, Purpose
from consent.receipts.jsonld import CONTEXT_URL
from core.levels import level_label
from core.models import ComplianceSettings

CONFORMS_TO = "https://w3id.org/dpv/schema/iso-27560#receipt-full"
VERSION = "ISO/IEC TS 27560:2023"
RECORD_IRI = "urn:consent-office:consent-record:{pk}"
PURPOSE_IRI = "urn:consent-office:purpose:{pk}"
# What a receipt names instead of a purpose when the record is about the level or tracking.
LEVEL_PREFIX, TRACKING = "consent-level:", "tracking"
# The source a retention lapse writes, once one does: its withdrawals are expiries (DPV).
RETENTION_SOURCE = "retention"
# The law a record falls under: the organisation's default jurisdiction (DSR_DEFAULT_JURISDICTION).
JURISDICTIONS = {
    "gdpr": ("loc:EU", "eu-gdpr:GDPR"),
    "uk_gdpr": ("loc:GB", None),
    "ccpa": ("loc:US-CA", None),
    "lgpd": ("loc:BR", None),
}
RECEIPT_FIELDS = (ConsentField.CONSENT_GIVEN, ConsentField.TRACKING, ConsentField.PURPOSE)


def consent_status(record: ConsentChange) -> str:
    """The DPV consent status a change leads to: given, given again (renewed), withdrawn,
    refused (a first answer of no) or expired (a lapse)."""
    old, new = record.old_value, record.new_value
    if record.field == ConsentField.CONSENT_GIVEN:
        # A raise gives the higher level's consent (the receipt names that level), never again.
        granted = int(new) > int(old or 0)
        first = granted or old == ""
    elif record.field == ConsentField.TRACKING:
        # Tracking starts as not allowed: a change to allowed is always a first answer.
        granted = first = new == "True"
    else:
        granted, first = new == "True", old == ""
    if granted:
        return "ConsentGiven" if first else "RenewedConsentGiven"
    if record.source == RETENTION_SOURCE:
        return "ConsentExpired"
    return "ConsentRefused" if first else "ConsentWithdrawn"


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ReceiptWriter:
    """Writes receipts of many records, reading the organisation and the purposes once."""

    def __init__(self):
        found = ComplianceSettings.load()
        self.controller = {
            "type": "DataController",
            "hasName": found.organisation_name or "",
            "hasAddress": found.controller_address or "",
            "hasContact": f"mailto:{found.privacy_contact_email}" if found.privacy_contact_email else "",
        }
        self.controller = {k: v for k, v in self.controller.items() if v}
        place, law = JURISDICTIONS.get(settings.DSR_DEFAULT_JURISDICTION, (None, None))
        self.jurisdiction = {"hasJurisdiction": place, "hasApplicableLaw": law}
        self.jurisdiction = {k: v for k, v in self.jurisdiction.items() if v}
        self.purposes = {p.pk: p for p in Purpose.objects.all()}

    def purpose(self, record: ConsentChange) -> dict:
        if record.field == ConsentField.PURPOSE and record.purpose_id in self.purposes:
            purpose = self.purposes[record.purpose_id]
            words = {
                "id": PURPOSE_IRI.format(pk=purpose.pk),
                "type": "Purpose",
                "identifier": purpose.slug,
                "title": purpose.name,
                "description": purpose.description,
            }
            if purpose.data_categories:
                words["hasPersonalData"] = {"type": "PersonalData", "description": purpose.data_categories}
            return {k: v for k, v in words.items() if v != ""}
        if record.field == ConsentField.CONSENT_GIVEN:
            level = max(int(record.new_value), int(record.old_value or 0))
            return {"type": "Purpose", "identifier": f"{LEVEL_PREFIX}{level}", "title": level_label(level)}
        return {"type": "Purpose", "identifier": TRACKING, "title": str(ConsentField.TRACKING.label)}

    def notice(self, record: ConsentChange) -> dict | None:
        """The words the person was shown, as the record's evidence names them (GDPR Art. 7(1)):
        the digest of the wording on the page or in the email, or the level wording's version."""
        evidence = record.evidence if isinstance(record.evidence, dict) else {}
        shown = evidence.get("wording_confirmed") or evidence.get("wording")
        if isinstance(shown, str) and shown:
            return {"type": "ConsentNotice", "identifier": f"wording:{shown}"}
        level = evidence.get("level_wording")
        if isinstance(level, dict) and level.get("level") is not None:
            return {
                "type": "ConsentNotice",
                "identifier": f"level-wording:{level['level']}",
                "hasVersion": str(level.get("version", "")),
            }
        return None

    def subject(self, record: ConsentChange, contact) -> dict:
        # The keyed hash the chain seals: the same person across receipts, not their database id.
        words = {
            "type": "DataSubject",
            "hasIdentifier": record.subject_tag or subject_hash(record.contact_id),
        }
        if contact is not None:
            reach = [f"mailto:{contact.email}"] if contact.email else []
            reach += [f"tel:{contact.phone}"] if contact.phone else []
            if reach:
                words["hasContact"] = reach[0] if len(reach) == 1 else reach
        return words

    def receipt(self, record: ConsentChange, *, contact=None, context: bool = True) -> dict:
        """One record as a TS 27560 consent record; `contact` adds how to reach the person."""
        words = {"@context": CONTEXT_URL} if context else {}
        words.update(
            {
                "id": RECORD_IRI.format(pk=record.pk),
                "type": "ConsentRecord",
                "conformsTo": CONFORMS_TO,
                "hasVersion": VERSION,
                "identifier": str(record.pk),
                "created": _instant(record.recorded_at),
                "hasDataSubject": self.subject(record, contact),
                "hasDataController": self.controller,
                **self.jurisdiction,
                "hasLegalBasis": "Consent",
                "hasPurpose": self.purpose(record),
                "hasNotice": self.notice(record),
                "hasConsentStatus": consent_status(record),
                "isIndicatedAtTime": _instant(record.effective_at),
                "hasIndicationMethod": record.source,
                "hasTechnicalMeasure": {
                    "type": "HashMessageAuthenticationCode",
                    "hasIdentifier": record.chain_hash,
                },
            }
        )
        return {k: v for k, v in words.items() if v is not None}


def receipt_records(queryset) -> Iterator[ConsentChange]:
    """The records a receipt can be written for (consent, not facts such as is_child), oldest first."""
    chosen = queryset.filter(field__in=RECEIPT_FIELDS).select_related("contact").order_by("pk")
    return chosen.iterator(chunk_size=2000)


def receipts_of(records: Iterable[ConsentChange], *, with_contact: bool = True) -> Iterator[dict]:
    writer = ReceiptWriter()
    for record in records:
        yield writer.receipt(record, contact=record.contact if with_contact else None)


def receipts_document(receipts: Iterable[dict]) -> dict:
    """Several receipts as one JSON-LD document: one @context, a @graph of records."""
    return {
        "@context": CONTEXT_URL,
        "@graph": [{k: v for k, v in r.items() if k != "@context"} for r in receipts],
    }


def contact_receipts(contact_ids: list[int]) -> dict:
    """Every consent receipt of these contacts as one document (the subscription center)."""
    return receipts_document(
        receipts_of(receipt_records(ConsentChange.objects.filter(contact_id__in=contact_ids)))
    )


def record_receipts(record_ids: list[int]) -> dict:
    """The receipts of these records as one document (the access package: the records it holds)."""
    return receipts_document(receipts_of(receipt_records(ConsentChange.objects.filter(pk__in=record_ids))))
