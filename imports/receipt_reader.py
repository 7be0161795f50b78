"""Consent receipts from other systems (ISO/IEC TS 27560 in JSON-LD with DPV, one document, a
@graph of them, or JSON Lines as the period export writes) read as the rows of an import: one row
per consent record, so they run through the same chunks, consent service and report as a CSV.

A file that is not JSON, not JSON-LD this product can expand without the network, or holds a term
no context defines is refused whole (FileRefused): nothing of it is imported. A record that cannot
become a purpose answer is a refused row with its reason.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.utils.translation import gettext as _

from consent.receipts.jsonld import ReceiptUnreadable
from consent.receipts.read import (
    ENDED,
    GIVEN,
    contact_points,
    notice_key,
    purpose_key,
    records_of,
    sealed_facts,
)
from consent.receipts.serialize import LEVEL_PREFIX, TRACKING
from imports.readers import FileRefused, Limits, Table

# The roles of imports.services.rows, in the order of the cells this reader writes.
HEADER = ["key", "email", "phone", "option", "value", "date", "evidence", "refused"]
KIND = "jsonld"


def looks_like_json(path: Path) -> bool:
    with path.open("rb") as probe:
        start = probe.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return start[:1] in (b"{", b"[")


def _documents(text: str) -> list:
    try:
        return [json.loads(text)]
    except json.JSONDecodeError as whole:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            raise FileRefused(
                _("The file is not valid JSON (line %(line)s, column %(column)s: %(problem)s).")
                % {"line": whole.lineno, "column": whole.colno, "problem": whole.msg}
            ) from None
    documents = []
    for number, line in enumerate(lines, start=1):
        try:
            documents.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise FileRefused(
                _("Line %(line)s of the file is not valid JSON (%(problem)s).")
                % {"line": number, "problem": error.msg}
            ) from None
    return documents


def _cells(node: dict) -> list[str]:
    facts = sealed_facts(node)
    key = str(facts["identifier"] or node.get("@id") or "")
    email = next((c[7:] for c in contact_points(node) if c.lower().startswith("mailto:")), "")
    phone = next((c[4:] for c in contact_points(node) if c.lower().startswith("tel:")), "")
    option = str(purpose_key(node) or "")
    status = facts["status"]
    refused = ""
    if option.startswith(LEVEL_PREFIX) or option == TRACKING:
        refused = _(
            "Only consent for a purpose is imported from receipts; this one records the consent level or the tracking choice."
        )
    elif status not in GIVEN | ENDED:
        refused = _("The receipt's consent status (%(status)s) is neither given nor withdrawn.") % {
            "status": str(status or "none")[:100]
        }
    elif facts["indicated_at"] is None:
        refused = _("The receipt does not say when consent was given or withdrawn (isIndicatedAtTime).")
    evidence = {
        "receipt": key,
        "recorded_at": facts["created"].isoformat() if facts["created"] else None,
        "method": facts["method"],
        "seal": facts["seal"],
        "status": status,
        "notice": notice_key(node),
    }
    return [
        key,
        email,
        phone,
        option,
        "true" if status in GIVEN else "false",
        facts["indicated_at"].isoformat() if facts["indicated_at"] else "",
        json.dumps({k: v for k, v in evidence.items() if v}, sort_keys=True),
        refused,
    ]


def open_receipts(path: Path, limits: Limits) -> Table:
    """The receipts of a JSON-LD (or JSON Lines) file as an import table, checked whole first."""
    if path.stat().st_size > limits.max_bytes:
        raise FileRefused(
            _("The file is larger than %(limit)s MB.") % {"limit": limits.max_bytes // 1024 // 1024}
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(_("The file is not UTF-8 text, as JSON must be.")) from None
    nodes = []
    try:
        for document in _documents(text):
            nodes += records_of(document)
    except ReceiptUnreadable as problem:
        raise FileRefused(
            _("The file is not a consent receipt this product can read: %(problem)s") % {"problem": problem}
        ) from None
    except RecursionError:
        raise FileRefused(_("The file is nested too deeply to be a consent receipt.")) from None
    if not nodes:
        raise FileRefused(_("The file holds no consent record (ISO/IEC TS 27560, DPV ConsentRecord)."))
    if len(nodes) > limits.max_rows:
        raise FileRefused(_("The file has more than %(limit)s rows; split it.") % {"limit": limits.max_rows})
    rows = ((number, _cells(node)) for number, node in enumerate(nodes, start=1))
    return Table(header=list(HEADER), rows=rows, kind=KIND, detail=f"{len(nodes)} consent records")
