"""Proving a consent receipt against the audit chain: the record it names must still verify in the
chain (consent.audit_chain, the one sealing scheme), and everything the receipt says that the chain
seals (status, times, purpose, subject, channel, the chain hash) must be what that record says."""

from __future__ import annotations

from dataclasses import dataclass, field

from consent.audit_chain import record_verify
from consent.models import ConsentChange
from consent.receipts.jsonld import ReceiptUnreadable
from consent.receipts.read import records_of, sealed_facts
from consent.receipts.serialize import ReceiptWriter

FACTS = {
    "identifier": "the record identifier",
    "status": "the consent status",
    "indicated_at": "the time consent was given or withdrawn",
    "created": "the time the record was made",
    "purpose": "the purpose",
    "subject": "the person",
    "method": "the channel",
    "seal": "the chain hash",
}


@dataclass
class ReceiptCheck:
    identifier: str | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def receipt_verify(document) -> list[ReceiptCheck]:
    """Each receipt of the document checked against the chain; ReceiptUnreadable for what is no
    receipt at all. A receipt passes only when its record verifies in the chain and every sealed
    fact it states is the record's."""
    nodes = records_of(document)
    if not nodes:
        raise ReceiptUnreadable("The document holds no consent record.")
    writer = ReceiptWriter()
    checks = []
    for node in nodes:
        stated = sealed_facts(node)
        check = ReceiptCheck(stated["identifier"])
        record = None
        if str(stated["identifier"] or "").isdigit():
            record = ConsentChange.objects.filter(pk=int(stated["identifier"])).first()
        if record is None:
            check.problems.append("no record with this identifier is in the audit trail")
        elif problem := record_verify(record):
            check.problems.append(f"the record fails the audit chain: {problem}")
        else:
            truth = sealed_facts(records_of(writer.receipt(record))[0])
            check.problems += [
                f"{words} differs from the sealed record"
                for key, words in FACTS.items()
                if stated[key] != truth[key]
            ]
        checks.append(check)
    return checks
