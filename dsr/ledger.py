"""The erasure ledger: every erasure also written to a file outside the database, so that a
restored backup can be made to forget again everyone erased since it was taken (GDPR Art. 17;
regulators expect erasure to be re-applied after a restore).

One JSON object per line in LEDGER_DIR/erasures.jsonl, holding only what an erasure
record holds: its id, the time, the request's reference, the contact ids and the keyed hashes of
the erased addresses and phone numbers (the suppression list's digests). Each line is sealed like
the audit chain: an HMAC over the line before it and its own content, so a line removed, edited or
inserted is noticed. The line is written and flushed to disk inside the erasure's transaction,
before it commits: an erasure whose commit then fails is still in the ledger and would be applied
after a restore, which errs on the side of the person who asked to be forgotten.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

GENESIS = "0" * 64


class LedgerBroken(Exception):
    """The ledger file was edited, truncated in the middle or written by another key."""


def _path() -> Path:
    return Path(settings.LEDGER_DIR) / "erasures.jsonl"


def _seal(prev: str, entry: dict) -> str:
    body = json.dumps({k: v for k, v in entry.items() if k != "hash"}, sort_keys=True, separators=(",", ":"))
    message = f"erasure-ledger:{prev}:{body}".encode()
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), message, hashlib.sha256).hexdigest()


def ledger_append(*, reference: str, contact_ids: list[int], digests: list[tuple[str, str]]) -> str:
    """Append one erasure (call inside its transaction); returns the entry's id for its record."""
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    entry_id = str(uuid.uuid4())
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # two erasures at once: one line after the other
        handle.seek(0)
        last = None
        for line in handle:
            if line.strip():
                last = line
        prev = json.loads(last)["hash"] if last else GENESIS
        entry = {
            "id": entry_id,
            "at": timezone.now().isoformat(),
            "reference": reference,
            "contacts": sorted(contact_ids),
            "digests": sorted([kind, digest] for kind, digest in digests),
            "prev": prev,
        }
        entry["hash"] = _seal(prev, entry)
        handle.seek(0, os.SEEK_END)
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return entry_id


def ledger_entries() -> list[dict]:
    """Every entry, checked link by link; LedgerBroken names the first line that does not fit."""
    path = _path()
    if not path.exists():
        return []
    entries, prev = [], GENESIS
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                raise LedgerBroken(f"line {number} is not an entry") from None
            if entry.get("prev") != prev or not hmac.compare_digest(
                entry.get("hash", ""), _seal(prev, entry)
            ):
                raise LedgerBroken(f"line {number} does not follow the line before it")
            entries.append(entry)
            prev = entry["hash"]
    return entries


@dataclass(frozen=True)
class Gap:
    """Erasures in the ledger that the database does not know (it was restored from before them)."""

    missing: list[dict]

    def __bool__(self) -> bool:
        return bool(self.missing)


def ledger_gap() -> Gap:
    from dsr.models import ErasureRecord

    entries = ledger_entries()
    if not entries:
        return Gap([])
    ids, known = [e["id"] for e in entries], set()
    for start in range(0, len(ids), 1000):
        chunk = ErasureRecord.objects.filter(ledger_entry__in=ids[start : start + 1000])
        known.update(chunk.values_list("ledger_entry", flat=True))
    return Gap([e for e in entries if uuid.UUID(e["id"]) not in known])
