"""A keyed hash chain over consent change records, so edits made behind the application's back
(by SQL, by a restored backup) are found, with the first record that no longer fits.

Each record stores prev_hash (the chain hash before it) and chain_hash = HMAC(key, prev_hash +
the record's facts + personal_digest). The personal fields (who, whose, why, evidence) enter only
through personal_digest: erasure may blank them and mark the record pseudonymised, and the chain
still verifies on the stored digest. Without the key nobody can forge a link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.bulk import fetch_rows, write_rows
from consent.models import AuditChainHead, ConsentChange

GENESIS = "0" * 64


def _key() -> bytes:
    return settings.AUDIT_CHAIN_KEY.encode()


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def personal_digest(record: ConsentChange) -> str:
    return hashlib.sha256(
        _canonical(
            {
                "contact": record.contact_id,
                "actor": record.actor_id,
                "channel": record.channel,
                "justification": record.justification,
                "evidence": record.evidence,
            }
        )
    ).hexdigest()


def link_hash(record: ConsentChange, prev_hash: str, digest: str) -> str:
    facts = {
        "prev": prev_hash,
        "field": record.field,
        "purpose": record.purpose_id,
        "old": record.old_value,
        "new": record.new_value,
        "source": record.source,
        "effective_at": record.effective_at.isoformat(),
        "recorded_at": record.recorded_at.isoformat(),
        "personal": digest,
    }
    return hmac.new(_key(), _canonical(facts), hashlib.sha256).hexdigest()


def seal(records: list[ConsentChange]) -> None:
    """Link unsaved records onto the chain, in order. Call inside the transaction that saves them:
    the head's row lock makes concurrent writers queue, so every record follows the one before.

    Plain SQL on the head: every consent write passes here, and the ORM's get_or_create and
    save() cost three times the two round trips (measured 0.7 ms of a 6 ms change)."""
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    # SQLite has no row locks: its writers take the whole database, one at a time.
    for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""
    lock = f"SELECT length, last_hash FROM {table} WHERE id = 1{for_update}"  # noqa: S608
    rows = fetch_rows(lock, [])
    if not rows:  # the first record ever
        AuditChainHead.objects.get_or_create(pk=1)
        rows = fetch_rows(lock, [])
    length, prev = rows[0][0], rows[0][1] or GENESIS
    for record in records:
        record.personal_digest = personal_digest(record)
        record.prev_hash = prev
        record.chain_hash = prev = link_hash(record, prev, record.personal_digest)
    write_rows(
        f"UPDATE {table} SET length = %s, last_hash = %s, updated_at = %s WHERE id = 1",  # noqa: S608
        [length + len(records), prev, timezone.now()],
    )


@dataclass
class Verification:
    ok: bool
    checked: int
    head: str
    first_bad_id: int | None = None
    problem: str = ""


def verify() -> Verification:
    """Walk the chain in insertion order and report the first record that does not fit."""
    head = AuditChainHead.objects.filter(pk=1).first()
    prev, checked = GENESIS, 0
    records = ConsentChange.objects.order_by("id").iterator(chunk_size=5000)
    for record in records:
        checked += 1
        if record.prev_hash != prev:
            return Verification(
                False, checked, prev, record.id, "a record before this one was removed or inserted"
            )
        if record.pseudonymised:
            # Erasure may only blank personal fields, never rewrite them.
            if record.justification or record.evidence or record.channel:
                return Verification(
                    False, checked, prev, record.id, "personal fields were rewritten after erasure"
                )
            digest = record.personal_digest
        else:
            digest = personal_digest(record)
            if digest != record.personal_digest:
                return Verification(False, checked, prev, record.id, "its personal fields were edited")
        if link_hash(record, prev, digest) != record.chain_hash:
            return Verification(False, checked, prev, record.id, "its content was edited")
        prev = record.chain_hash
    expected_length = head.length if head else 0
    expected_head = (head.last_hash or GENESIS) if head else GENESIS
    if checked != expected_length or prev != expected_head:
        return Verification(False, checked, prev, None, "records at the end of the chain were removed")
    return Verification(True, checked, prev)
