"""A keyed hash chain over consent change records, so edits made behind the application's back
(by SQL, by a restored backup) are found, every one of them, with what is wrong with each.

Each record stores prev_hash (the chain hash before it) and chain_hash = HMAC(key, prev_hash + every
column of the record). Three rules make the seal say only true things:

- What is sealed is what the database gives back: values enter through one canonical text
  (`canonical`), in which a JSON number is its exact decimal value, so 1e16 sealed as a float
  and read back from PostgreSQL's jsonb as the integer 10000000000000000 seal the same.
- Every column is covered. The whose-record link enters as a keyed hash of the contact id (the
  subject) and the personal fields (channel, justification, evidence) as a keyed digest stored
  beside them. Erasure blanks the personal fields and the contact link and keeps, in subject_tag,
  the keyed hash of the contact it belonged to: the record still proves it belonged to one
  (now unknown) person, and nobody without the key can make a record look pseudonymised.
- The head is anchored outside the chain: signed checkpoints (AuditCheckpoint) say how long the
  chain was and how it ended, so removing the newest records and rolling the head back is found.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from consent.models import AuditChainHead, AuditCheckpoint, AuditVerification, ConsentChange
from core.bulk import fetch_rows, write_rows
from core.files import append_line

GENESIS = "0" * 64


def _key() -> bytes:
    return settings.AUDIT_CHAIN_KEY.encode()


def _mac(text: str) -> str:
    return hmac.new(_key(), text.encode(), hashlib.sha256).hexdigest()


class NotStorable(ValueError):
    """A value that a database would not give back as it was given (or not store at all)."""


def canonical(value) -> str:
    """One text per JSON value, the same before and after a round trip through SQLite and
    PostgreSQL: keys sorted, no whitespace, numbers as their exact decimal value (jsonb keeps
    the value and drops the spelling: 1e+16 comes back as 10000000000000000, 1.0 as 1.0, -0.0 as 0).
    Raises NotStorable for what a database cannot keep (NaN, infinity, NUL, lone surrogates)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            raise NotStorable("text with a NUL character or a lone surrogate")
        return _quoted(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise NotStorable("only text can name a value")
        return "{" + ",".join(f"{canonical(k)}:{canonical(value[k])}" for k in sorted(value)) + "}"
    raise NotStorable(f"{type(value).__name__} is not a JSON value")


def _number(value: int | float) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotStorable("not a finite number")
        value = Decimal(repr(value))  # the shortest spelling that reads back as this float
    else:
        value = Decimal(value)
    if value == 0:
        return "0"
    sign, digits, exponent = value.as_tuple()
    digits = list(digits)
    while digits[-1] == 0:
        digits.pop()
        exponent += 1
    return ("-" if sign else "") + "".join(map(str, digits)) + (f"e{exponent}" if exponent else "")


# PostgreSQL keeps neither in text nor in jsonb; SQLite would, so both refuse them alike.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_quoted = json.encoder.encode_basestring  # json.dumps(text, ensure_ascii=False), without its set-up


def storable_problem(value) -> str:
    """Why this text or JSON value cannot be kept as evidence, or "" when it can."""
    try:
        canonical(value)
    except NotStorable as problem:
        return str(problem)
    except RecursionError:
        return "nested too deeply"
    return ""


def _instant(moment: datetime) -> str:
    if moment.tzinfo is None:  # stored naive means UTC (USE_TZ)
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def subject_hash(contact_id: int) -> str:
    """The keyed hash of a contact id: names the subject without leading to them."""
    return _mac(f"subject:{contact_id}")


def personal_digest(record: ConsentChange) -> str:
    """Keyed, so the blanked fields of a pseudonymised record cannot be guessed back from it."""
    return personal_digest_of(record.channel, record.justification, record.evidence)


def personal_digest_of(channel: str, justification: str, evidence) -> str:
    """personal_digest of a record with these personal fields (raises NotStorable as canonical)."""
    return _mac("personal:" + canonical([channel, justification, evidence]))


def link_hash(record: ConsentChange, prev_hash: str, subject: str, digest: str) -> str:
    facts = [
        2,  # the scheme: 1 sealed fewer columns (before migration 0014)
        prev_hash,
        record.field,
        record.purpose_id,
        record.old_value,
        record.new_value,
        record.source,
        record.actor_id,
        _instant(record.effective_at),
        _instant(record.recorded_at),
        subject,
        digest,
    ]
    return _mac("link:" + canonical(facts))


def seal(records: list[ConsentChange]) -> None:
    """Link unsaved records onto the chain, in order. Call inside the transaction that saves them:
    the head's row lock makes concurrent writers queue, so every record follows the one before.

    Plain SQL on the head: every consent write passes here, and the ORM's get_or_create and
    save() cost three times the two round trips (measured 0.7 ms of a 6 ms change)."""
    length, prev = _head_locked()
    for record in records:
        record.subject_tag = ""  # only an erasure writes it
        record.personal_digest = personal_digest(record)
        record.prev_hash = prev
        record.chain_hash = prev = link_hash(
            record, prev, subject_hash(record.contact_id), record.personal_digest
        )
    _head_move(length + len(records), prev)


class SealedFacts(NamedTuple):
    """The sealed columns of a record not built as a ConsentChange (bulk loads: chain_extend)."""

    field: str
    purpose_id: int | None
    old_value: str
    new_value: str
    source: str
    actor_id: int | None
    effective_at: datetime
    recorded_at: datetime
    contact_id: int | None


def chain_extend(facts: list[tuple], digests: list[str]) -> list[tuple[str, str]]:
    """seal() for records to be bulk-loaded: each SealedFacts tuple with its personal digest gets
    (prev_hash, chain_hash), in order, and the head moves past them. Same transaction, same lock."""
    length, prev = _head_locked()
    links = []
    for values, digest in zip(facts, digests, strict=True):
        record = SealedFacts(*values)
        chain = link_hash(record, prev, subject_hash(record.contact_id), digest)
        links.append((prev, chain))
        prev = chain
    _head_move(length + len(links), prev)
    return links


def _head_locked() -> tuple[int, str]:
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    # SQLite has no row locks: its writers take the whole database, one at a time.
    for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""
    lock = f"SELECT length, last_hash FROM {table} WHERE id = 1{for_update}"  # noqa: S608
    rows = fetch_rows(lock, [])
    if not rows:  # the first record ever
        AuditChainHead.objects.get_or_create(pk=1)
        rows = fetch_rows(lock, [])
    return rows[0][0], rows[0][1] or GENESIS


def _head_move(length: int, last_hash: str) -> None:
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    write_rows(
        f"UPDATE {table} SET length = %s, last_hash = %s, updated_at = %s WHERE id = 1",  # noqa: S608
        [length, last_hash, timezone.now()],
    )


# --- verification ----------------------------------------------------------------------------

MAX_LISTED = 100  # bad records named one by one; every one is counted

REMOVED_OR_INSERTED = "a record before this one was removed or inserted"
EDITED = "its content was edited"
PERSONAL_EDITED = "its personal fields were edited"
NOT_BLANKED = "marked pseudonymised, but its personal fields or contact were not blanked (or were rewritten)"
FAKE_PSEUDONYM = "marked pseudonymised, but not by an erasure (or its content was edited)"
TAG_ON_LIVE = "it carries an erasure mark but still names a contact"
TRUNCATED = "records at the end of the chain were removed (the head does not match)"
MISCOUNTED = "the chain holds another number of records than its head counts"
CHECKPOINT_MISSING = "a signed checkpoint covers records that are gone"
CHECKPOINT_DIFFERS = "the chain no longer ends where a signed checkpoint says it did"
CHECKPOINT_FORGED = "a checkpoint's signature does not match"


@dataclass
class Verification:
    ok: bool
    checked: int
    head: str
    problems: Counter = field(default_factory=Counter)  # problem → how many records
    bad: list[tuple[int | None, str]] = field(default_factory=list)  # (record id, problem), capped
    checkpoints: int = 0
    walked: int = 0  # records read and checked one by one (the rest: stretches unchanged since verified)

    @property
    def bad_count(self) -> int:
        return sum(self.problems.values())

    @property
    def first_bad_id(self) -> int | None:
        return next((pk for pk, _problem in self.bad if pk is not None), None)

    @property
    def problem(self) -> str:
        return self.bad[0][1] if self.bad else ""

    def add(self, record_id: int | None, problem: str) -> None:
        self.ok = False
        self.problems[problem] += 1
        if len(self.bad) < MAX_LISTED:
            self.bad.append((record_id, problem))

    def summary(self) -> str:
        """One line for a message, a report cell or a command's output."""
        if self.ok:
            unchanged = self.checked - self.walked
            since = f" ({unchanged} unchanged since they last verified)" if unchanged else ""
            return (
                f"Audit trail intact: {self.checked} records{since}, head {self.head}, "
                f"{self.checkpoints} signed checkpoints agree."
            )
        counts = "; ".join(f"{problem}: {n}" for problem, n in self.problems.most_common())
        first = ", ".join(f"#{pk}" for pk, _p in self.bad if pk is not None)
        named = f" Records: {first}{' …' if self.bad_count > len(self.bad) else ''}." if first else ""
        return f"Audit trail BROKEN: {self.bad_count} problems in {self.checked} records ({counts}).{named}"


def _record_problem(record: ConsentChange) -> str:
    if not record.pseudonymised:
        if record.subject_tag:
            return TAG_ON_LIVE
        digest = personal_digest(record)
        if digest != record.personal_digest:
            return PERSONAL_EDITED
        subject = subject_hash(record.contact_id)
        problem = EDITED
    else:
        # Erasure may only blank the personal fields and the contact link, never rewrite them.
        if (
            record.contact_id is not None
            or record.justification
            or record.evidence not in ({}, None)
            or record.channel
            or not record.subject_tag
        ):
            return NOT_BLANKED
        digest, subject, problem = record.personal_digest, record.subject_tag, FAKE_PSEUDONYM
    if link_hash(record, record.prev_hash, subject, digest) != record.chain_hash:
        return problem
    return ""


def record_verify(record: ConsentChange) -> str:
    """One record against the chain, as verify() judges it: its own seal, and its link to the record
    before it. "" when both hold, else the problem. (Whether records after it were removed is the
    whole walk's business: verify().)"""
    before = (
        ConsentChange.objects.filter(pk__lt=record.pk).order_by("-pk").values_list("chain_hash", flat=True)
    )
    if record.prev_hash != (before.first() or GENESIS):
        return REMOVED_OR_INSERTED
    return _record_problem(record)


def verify(*, whole: bool = False) -> Verification:
    """Walk the chain in insertion order and report every record that does not fit, the head, and
    every signed checkpoint that the chain no longer matches. Keeps going after the first problem
    (one edit must not hide the next) in bounded memory.

    On PostgreSQL, stretches whose rows are byte for byte as they were when they last verified clean
    are not read again (consent.audit_seals); `whole` reads every record regardless."""
    result = Verification(True, 0, GENESIS)
    checkpoints, unreadable = _all_checkpoints()
    result.checkpoints = len(checkpoints)
    for _line in range(unreadable):
        result.add(None, CHECKPOINT_FORGED)
    at_length: dict[int, list[AuditCheckpoint]] = {}
    for checkpoint in checkpoints:
        if not checkpoint_signature_ok(checkpoint):
            result.add(None, CHECKPOINT_FORGED)
        else:
            at_length.setdefault(checkpoint.length, []).append(checkpoint)
    if whole or connection.vendor != "postgresql":
        prev = walk(_records_in_order(), result, GENESIS, at_length)
    else:
        # Imported here: audit_seals builds on this module.
        from consent.audit_seals import walk_changed_stretches

        prev = walk_changed_stretches(result, at_length)
    for _length, missing in sorted(at_length.items()):
        for _checkpoint in missing:
            if _length == 0:
                continue  # a checkpoint of the empty chain covers nothing
            result.add(None, CHECKPOINT_MISSING)
    result.head = prev
    head = AuditChainHead.objects.filter(pk=1).first()
    expected_length = head.length if head else 0
    expected_head = (head.last_hash or GENESIS) if head else GENESIS
    if prev != expected_head:
        result.add(None, TRUNCATED)
    elif result.checked != expected_length:
        result.add(None, MISCOUNTED)
    return result


def walk(records, result: Verification, prev: str, at_length: dict) -> str:
    """Check each record's link to the one before and its own seal, and each checkpoint that ends
    among them (popped from at_length); returns the chain hash after the last."""
    for record in records:
        result.checked += 1
        result.walked += 1
        if record.prev_hash != prev:
            result.add(record.id, REMOVED_OR_INSERTED)
        problem = _record_problem(record)
        if problem:
            result.add(record.id, problem)
        prev = record.chain_hash
        checkpoint_at(result, at_length, record.id, prev)
    return prev


def checkpoint_at(result: Verification, at_length: dict, record_id: int, chain_hash: str) -> None:
    """The checkpoints taken when the chain was result.checked long must name this record's hash."""
    for checkpoint in at_length.pop(result.checked, []):
        if checkpoint.head_hash != chain_hash:
            result.add(record_id, CHECKPOINT_DIFFERS)


def _records_in_order():
    """Every record in id order, LONG_JOB_BATCH_SIZE per query after the last id read: one cursor
    over the whole table (on PostgreSQL, outside a transaction, a WITH HOLD cursor copies the
    result whole before the first row) held a snapshot for the length of the walk, 18 minutes
    at 2.7 million records on a loaded 2-core machine."""
    size, last = settings.LONG_JOB_BATCH_SIZE, 0
    while batch := list(ConsentChange.objects.filter(id__gt=last).order_by("id")[:size]):
        yield from batch
        if len(batch) < size:
            return
        last = batch[-1].id


def verify_and_record(*, whole: bool = False) -> Verification:
    """verify(), and keep its outcome: monitoring alerts on a trail not verified clean lately."""
    result = verify(whole=whole)
    AuditVerification.objects.create(
        ok=result.ok, checked=result.checked, problems=result.bad_count, summary=result.summary()[:1000]
    )
    return result


# --- checkpoints -----------------------------------------------------------------------------


def _anchor_path() -> Path:
    # Beside the erasure ledger: whoever can edit the database cannot edit this folder, so
    # deleting the checkpoint rows along with the newest records still leaves their copies here.
    return Path(settings.LEDGER_DIR) / "audit-checkpoints.jsonl"


def _all_checkpoints() -> tuple[list[AuditCheckpoint], int]:
    """Every checkpoint in the table and in the copy outside the database, each once; and how
    many lines of the copy could not be read."""
    found = {(c.length, c.head_hash, c.signature): c for c in AuditCheckpoint.objects.order_by("id")}
    unreadable = 0
    path = _anchor_path()
    if path.exists():
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    copy = AuditCheckpoint(
                        length=int(data["length"]),
                        head_hash=str(data["head"]),
                        created_at=datetime.fromisoformat(data["at"]),
                        signature=str(data["signature"]),
                    )
                except (ValueError, KeyError, TypeError):
                    unreadable += 1
                    continue
                found.setdefault((copy.length, copy.head_hash, copy.signature), copy)
    return sorted(found.values(), key=lambda c: c.length), unreadable


def checkpoint_signature(*, length: int, head_hash: str, created_at: datetime) -> str:
    return _mac("checkpoint:" + canonical([length, head_hash, _instant(created_at)]))


def checkpoint_signature_ok(checkpoint: AuditCheckpoint) -> bool:
    expected = checkpoint_signature(
        length=checkpoint.length, head_hash=checkpoint.head_hash, created_at=checkpoint.created_at
    )
    return hmac.compare_digest(expected, checkpoint.signature)


def audit_checkpoint_take() -> AuditCheckpoint:
    """Write a signed checkpoint of the chain's current length and head (daily, and on demand).

    Anchors the head outside the chain table: whoever later removes the newest records and rolls
    the head back still leaves a checkpoint that names them. Idempotent enough for a duplicate
    beat: a second checkpoint of the same head only repeats the first."""
    with transaction.atomic():
        # Read under the head's lock, so a writer between the read and the insert cannot make the
        # checkpoint name a head that is already gone.
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        length = head.length if head else 0
        head_hash = (head.last_hash or GENESIS) if head else GENESIS
        created_at = timezone.now()
        checkpoint = AuditCheckpoint.objects.create(
            length=length,
            head_hash=head_hash,
            created_at=created_at,
            signature=checkpoint_signature(length=length, head_hash=head_hash, created_at=created_at),
        )
        # The copy outside the database, on disk before the row commits (a copy whose row then
        # rolls back still names a real head: it only checks what was already there).
        append_line(
            _anchor_path(),
            json.dumps(
                {
                    "at": created_at.isoformat(),
                    "length": length,
                    "head": head_hash,
                    "signature": checkpoint.signature,
                }
            ),
        )
        return checkpoint


def checkpoint_line(checkpoint: AuditCheckpoint) -> str:
    """The checkpoint as one line to keep elsewhere: enough to check the chain against later."""
    return (
        f"{checkpoint.created_at.isoformat()} length={checkpoint.length} head={checkpoint.head_hash}"
        f" signature={checkpoint.signature}"
    )


def audit_checkpoint_send(checkpoint: AuditCheckpoint) -> bool:
    """Email the checkpoint to the address in the compliance settings, if one is set: a copy
    outside the database, which whoever edits the database cannot edit. No personal data."""
    from django.core.mail import send_mail

    from core.models import ComplianceSettings

    address = ComplianceSettings.load().audit_checkpoint_email
    if not address:
        return False
    send_mail(
        subject=f"Audit trail checkpoint: {checkpoint.length} records",
        message=(
            "A signed checkpoint of the consent change audit trail. Keep this message: the trail can be\n"
            "checked against it later (manage.py verify_audit_trail, or the compliance dashboard).\n\n"
            f"{checkpoint_line(checkpoint)}\n"
        ),
        from_email=None,
        recipient_list=[address],
    )
    return True


def latest_checkpoint() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-created_at", "-id").first()
