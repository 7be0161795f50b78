"""Reading consent receipts back: the expanded ConsentRecord nodes of a document and what each
states, by full IRI, whatever prefixes or compaction the writing system chose."""

from __future__ import annotations

from datetime import datetime

from consent.receipts.jsonld import DCT, DPV, expand


def _one(node: dict, iri: str):
    values = node.get(iri) or []
    if len(values) != 1:
        return None
    value = values[0]
    return value.get("@id", value.get("@value", value)) if isinstance(value, dict) else value


def _time(text) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def sealed_facts(node: dict) -> dict:
    """What the chain seals, read from one expanded ConsentRecord node (full IRIs)."""
    purpose = (node.get(DPV + "hasPurpose") or [{}])[0]
    subject = (node.get(DPV + "hasDataSubject") or [{}])[0]
    measure = (node.get(DPV + "hasTechnicalMeasure") or [{}])[0]
    return {
        "identifier": _one(node, DCT + "identifier"),
        "status": _one(node, DPV + "hasConsentStatus"),
        "indicated_at": _time(_one(node, DPV + "isIndicatedAtTime")),
        "created": _time(_one(node, DCT + "created")),
        "purpose": purpose.get("@id") or _one(purpose, DCT + "identifier"),
        "subject": _one(subject, DPV + "hasIdentifier"),
        "method": _one(node, DPV + "hasIndicationMethod"),
        "seal": _one(measure, DPV + "hasIdentifier"),
    }


def records_of(document) -> list[dict]:
    """The expanded ConsentRecord nodes of a receipt or a document of receipts."""
    nodes = []
    for item in expand(document):
        for node in item.get("@graph", [item]):
            if DPV + "ConsentRecord" in node.get("@type", []):
                nodes.append(node)
    return nodes


def contact_points(node: dict) -> list[str]:
    """How the record's person is reached (mailto:, tel:), as the receipt says."""
    subject = (node.get(DPV + "hasDataSubject") or [{}])[0]
    found = []
    for value in subject.get(DPV + "hasContact") or []:
        text = value.get("@id", value.get("@value")) if isinstance(value, dict) else value
        if isinstance(text, str):
            found.append(text)
    return found


def notice_key(node: dict) -> str | None:
    """The identifier of the notice the person was shown, when the receipt names one."""
    notice = (node.get(DPV + "hasNotice") or [{}])[0]
    return _one(notice, DCT + "identifier")


def purpose_key(node: dict) -> str | None:
    """The purpose's own identifier (its key, e.g. "news"), not the record's IRI for it."""
    purpose = (node.get(DPV + "hasPurpose") or [{}])[0]
    return _one(purpose, DCT + "identifier")


GIVEN = {DPV + "ConsentGiven", DPV + "RenewedConsentGiven"}
ENDED = {DPV + "ConsentWithdrawn", DPV + "ConsentRefused", DPV + "ConsentExpired", DPV + "ConsentRevoked"}
