"""The synthetic dataset on PostgreSQL through COPY: the rows contacts_create_with_consent writes
for new contacts from an import (contacts and their history, purpose answers and their history,
sealed consent change records), written as COPY text without model instances.

The service's own bulk path (bench.dataset.build_with_service) spent 833.5 s on 1,000,000
contacts (2026-12-03): per row it builds instances, validates them and adapts every value. Here the
rows are the same (same generator, same seed, same chain), the seals are computed in order in
Python with the chain's own hash, and the secondary indexes are dropped for the load and built
once at the end, which PostgreSQL does several times faster than keeping them up row by row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import random
import threading
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from bench.dataset import ADULTS, CHUNK, SEED, chunk_effective_at, progress, row_for
from consent.audit_chain import GENESIS, canonical
from consent.models import AuditChainHead, ConsentChange, Purpose, PurposeConsent, Source
from contacts.models import Contact
from core.levels import level_evidence, memo

# The service seals per batch of 5,000 contacts (its batch_size): records in the same order.
SEAL_BATCH = 5000

CONTACT = Contact._meta.db_table
CONTACT_HISTORY = Contact.history.model._meta.db_table
ANSWER = PurposeConsent._meta.db_table
ANSWER_HISTORY = PurposeConsent.history.model._meta.db_table
RECORD = ConsentChange._meta.db_table
TABLES = (CONTACT, CONTACT_HISTORY, ANSWER, ANSWER_HISTORY, RECORD)

COLUMNS = {
    CONTACT: "id, first_name, last_name, email, phone, consent_given, tracking_allowed, is_child, "
    "processing_restricted, created_at, updated_at, guardian_id, date_of_birth, country, language, "
    "last_action_at",
    CONTACT_HISTORY: "id, history_id, first_name, last_name, email, phone, consent_given, tracking_allowed, "
    "is_child, processing_restricted, created_at, guardian_id, date_of_birth, country, language, "
    "history_date, history_change_reason, history_type, history_user_id",
    ANSWER: "id, contact_id, purpose_id, granted, changed_at, source",
    ANSWER_HISTORY: "id, history_id, contact_id, purpose_id, granted, changed_at, source, history_date, "
    "history_change_reason, history_type, history_user_id",
    RECORD: "id, contact_id, field, purpose_id, old_value, new_value, actor_id, source, channel, "
    "justification, evidence, effective_at, recorded_at, personal_digest, subject_tag, prev_hash, "
    "chain_hash, pseudonymised",
}
# Which id column each table numbers (drawn here, the sequences moved past them at the end).
NUMBERED = {
    CONTACT: "id",
    CONTACT_HISTORY: "history_id",
    ANSWER: "id",
    ANSWER_HISTORY: "history_id",
    RECORD: "id",
}

T, F, NULL = "t", "f", r"\N"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # as audit_chain seals it


class _Chain:
    """The audit chain's links, as consent.audit_chain.seal computes them, without instances."""

    def __init__(self, length: int, last: str):
        self.length, self.prev = length, last or GENESIS
        self.key = settings.AUDIT_CHAIN_KEY.encode()

    def mac(self, text: str) -> str:
        return hmac.digest(self.key, text.encode(), hashlib.sha256).hex()

    def link(self, facts_tail: str) -> tuple[str, str]:
        """(prev_hash, chain_hash) of the next record; facts_tail: its canonical facts after prev."""
        prev = self.prev
        self.prev = self.mac(f'link:[2,"{prev}",{facts_tail}')
        self.length += 1
        return prev, self.prev


def build_with_copy(total: int, out) -> None:
    """Build `total` contacts as build_with_service would, with COPY, in one transaction per chunk."""
    started = time.perf_counter()
    dropped, unchecked = [], False
    try:
        unchecked = _foreign_keys_unchecked()
        with connection.cursor() as cursor:
            for name, definition in _secondary_indexes():
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                dropped.append((name, definition))
        _load(total, out)
        loaded = time.perf_counter()
    finally:
        with connection.cursor() as cursor:
            if unchecked:
                cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET maintenance_work_mem = '1GB'")
            for _name, definition in dropped:
                out.write(f"\r  building index {_name:<60}")
                out.flush()
                cursor.execute(definition)
            cursor.execute("RESET maintenance_work_mem")
        out.write("\n")
    indexed = time.perf_counter()
    stretches = seal_built_chain()
    out.write(
        f"  loaded in {loaded - started:.1f} s, indexes built in {indexed - loaded:.1f} s, "
        f"{stretches:,} stretches of the chain sealed in {time.perf_counter() - indexed:.1f} s\n"
    )


def seal_built_chain() -> int:
    """Seal every stretch of the chain just written, as its first verification would (consent.
    audit_seals), so the daily job is timed as it runs every day after the first. This build wrote
    and sealed each record itself; tests/test_bench.py verifies such a chain record by
    record. The first walk of an unsealed chain is timed on its own in docs/benchmarks.md."""
    from consent.audit_seals import AUDIT_STRETCH_IDS, seal_signature, stretch_digests
    from consent.models import AuditStretchSeal

    seals, prev = [], GENESIS
    for stretch, records, digest in stretch_digests():
        low = stretch * AUDIT_STRETCH_IDS
        ends = ConsentChange.objects.filter(id__gte=low, id__lt=low + AUDIT_STRETCH_IDS).order_by("id")
        first_prev = ends.values_list("prev_hash", flat=True).first()
        last_hash = ends.reverse().values_list("chain_hash", flat=True).first()
        if first_prev != prev:
            raise RuntimeError(f"the built chain does not link into stretch {stretch}")
        seal = AuditStretchSeal(
            stretch=stretch, records=records, digest=digest, first_prev=first_prev, last_hash=last_hash
        )
        seal.signature = seal_signature(seal)
        seals.append(seal)
        prev = last_hash
    AuditStretchSeal.objects.all().delete()
    AuditStretchSeal.objects.bulk_create(seals, batch_size=1000)
    return len(seals)


def _foreign_keys_unchecked() -> bool:
    """The rows are made consistent here; checking each foreign key row by row cost more than
    writing the row. Session-wide, until the build ends; needs a superuser (else checked)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
    except DatabaseError:
        return False
    return True


def _secondary_indexes() -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes of the loaded tables that back no constraint."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "JOIN pg_class c ON c.relname = i.indexname AND c.relkind = 'i' "
            "WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid) ORDER BY 1",
            [list(TABLES)],
        )
        return cursor.fetchall()


def _load(total: int, out) -> None:
    """Write the chunks as a second thread makes them: PostgreSQL takes one chunk while Python
    makes the next (the thread only computes; this one alone talks to the database)."""
    purposes = {p.slug: p.pk for p in Purpose.objects.all()}
    next_id = _next_ids()
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        chain = _Chain(head.length, head.last_hash)
    with memo():  # the wording version each level's record keeps, read once
        evidence = {level: level_evidence(level, {}) for level in range(1, 6)}
    made_chunks: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def make() -> None:
        try:
            for chunk in _chunks(total, purposes, next_id, chain, evidence):
                while not stop.is_set():
                    try:
                        made_chunks.put(chunk, timeout=1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            made_chunks.put(None)
        except BaseException as problem:  # handed to the writer, which raises it
            made_chunks.put(problem)

    maker = threading.Thread(target=make, name="bench-dataset", daemon=True)
    maker.start()
    made = 0
    try:
        while (chunk := made_chunks.get()) is not None:
            if isinstance(chunk, BaseException):
                raise chunk
            lines, size, length, last = chunk
            with transaction.atomic(), connection.cursor() as cursor:
                for table in TABLES:
                    with cursor.cursor.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                        copy.write(lines[table])
                cursor.execute(
                    f"UPDATE {AuditChainHead._meta.db_table} SET length = %s, last_hash = %s, "
                    "updated_at = %s WHERE id = 1",
                    [length, last, timezone.now()],
                )
            made += size
            progress(out, made, total)
    finally:
        stop.set()
        maker.join()
    out.write("\n")
    with connection.cursor() as cursor:
        for table, column in NUMBERED.items():
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, %s), %s, false)", [table, column, next_id[table]]
            )


def _chunks(total: int, purposes: dict, next_id: dict, chain: _Chain, evidence: dict):
    """(COPY lines per table, contacts, chain length, chain head) of each chunk of CHUNK contacts,
    drawn as build_with_service draws them."""
    texts = {
        "purpose_text": {pk: canonical(pk) for pk in purposes.values()},
        "source": Source.IMPORT.value,
        "reason": str(Source.IMPORT.label),  # the history rows' reason, as the service writes it
        "level_json": {level: json.dumps(value) for level, value in evidence.items()},
        "level_digest": {
            level: chain.mac("personal:" + canonical(["", "", value])) for level, value in evidence.items()
        },
        "empty_digest": chain.mac("personal:" + canonical(["", "", {}])),
    }
    rng = random.Random(SEED)
    adults: list[int] = []
    newest: list[int] = []
    since = timezone.now() - timedelta(days=365)
    made = 0
    while made < total:
        size = min(CHUNK, total - made)
        rows = [row_for(made + i, rng, adults) for i in range(size)]
        at = chunk_effective_at(since, made, total)
        first_id = next_id[CONTACT]
        lines = {table: [] for table in TABLES}
        for start in range(0, size, SEAL_BATCH):
            _batch_lines(
                rows[start : start + SEAL_BATCH], lines, next_id, chain, at=at, purposes=purposes, **texts
            )
        yield {table: "".join(text) for table, text in lines.items()}, size, chain.length, chain.prev
        made += size
        # The newest 2,000 adults so far, as build_with_service reads them from the table.
        newest = ([first_id + n for n in range(size - 1, -1, -1) if not rows[n].get("is_child")] + newest)[
            :2000
        ]
        if len(adults) < ADULTS:
            adults += newest


def _next_ids() -> dict[str, int]:
    found = {}
    with connection.cursor() as cursor:
        for table, column in NUMBERED.items():
            cursor.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}")
            found[table] = cursor.fetchone()[0]
    return found


def _batch_lines(rows, lines, next_id, chain, *, at, purposes, purpose_text, source, reason, **texts):
    """The COPY lines of one batch of contacts, its records linked onto the chain in the service's
    order: each contact's level then tracking record, then the batch's purpose answers."""
    now = timezone.now()
    at_stamp, now_stamp = _stamp(at), _stamp(now)
    at_instant, now_instant = _instant(at), _instant(now)
    contacts, answers, records = lines[CONTACT], lines[ANSWER], lines[RECORD]
    contact_history, answer_history = lines[CONTACT_HISTORY], lines[ANSWER_HISTORY]
    level_json, level_digest, empty_digest = texts["level_json"], texts["level_digest"], texts["empty_digest"]
    # The facts after prev_hash are: field, purpose, old, new, source, actor, effective, recorded,
    # subject, digest (consent.audit_chain.link_hash).
    tail_end = f'"{source}",null,"{at_instant}","{now_instant}",'
    record_end = f"{source}\t\t\t%s\t{at_stamp}\t{now_stamp}\t%s\t\t%s\t%s\tf\n"
    batch_answers = []
    for row in rows:
        cid = next_id[CONTACT]
        next_id[CONTACT] += 1
        level, tracking = row["consent_given"], row["tracking_allowed"]
        wanted = row.get("purposes") or {}
        child = row.get("is_child", False)
        guardian = str(row["guardian_id"]) if child else NULL
        restricted = T if row["processing_restricted"] else F
        last_action = at_stamp if (level or tracking or any(wanted.values())) else NULL
        person = (
            f"{row['first_name']}\t{row['last_name']}\t{row['email']}\t\t{level}\t{T if tracking else F}\t"
        )
        contacts.append(
            f"{cid}\t{person}{T if child else F}\t{restricted}\t{now_stamp}\t{now_stamp}\t{guardian}\t"
            f"{NULL}\t\t\t{last_action}\n"
        )
        contact_history.append(
            f"{cid}\t{next_id[CONTACT_HISTORY]}\t{person}{T if child else F}\t{restricted}\t{now_stamp}\t"
            f"{guardian}\t{NULL}\t\t\t{at_stamp}\t{reason}\t+\t{NULL}\n"
        )
        next_id[CONTACT_HISTORY] += 1
        subject = chain.mac(f"subject:{cid}")
        if level:
            digest = level_digest[level]
            prev, link = chain.link(f'"consent_given",null,"0","{level}",{tail_end}"{subject}","{digest}"]')
            records.append(
                f"{next_id[RECORD]}\t{cid}\tconsent_given\t{NULL}\t0\t{level}\t{NULL}\t"
                + record_end % (level_json[level], digest, prev, link)
            )
            next_id[RECORD] += 1
        if tracking:
            prev, link = chain.link(
                f'"tracking_allowed",null,"False","True",{tail_end}"{subject}","{empty_digest}"]'
            )
            records.append(
                f"{next_id[RECORD]}\t{cid}\ttracking_allowed\t{NULL}\tFalse\tTrue\t{NULL}\t"
                + record_end % ("{}", empty_digest, prev, link)
            )
            next_id[RECORD] += 1
        for slug, granted in wanted.items():
            batch_answers.append((cid, subject, purposes[slug], granted))
    for cid, subject, purpose, granted in batch_answers:
        flag, word = (T, "True") if granted else (F, "False")
        answers.append(f"{next_id[ANSWER]}\t{cid}\t{purpose}\t{flag}\t{at_stamp}\t{source}\n")
        answer_history.append(
            f"{next_id[ANSWER]}\t{next_id[ANSWER_HISTORY]}\t{cid}\t{purpose}\t{flag}\t{at_stamp}\t{source}\t"
            f"{at_stamp}\t{reason}\t+\t{NULL}\n"
        )
        next_id[ANSWER] += 1
        next_id[ANSWER_HISTORY] += 1
        prev, link = chain.link(
            f'"purpose",{purpose_text[purpose]},"","{word}",{tail_end}"{subject}","{empty_digest}"]'
        )
        records.append(
            f"{next_id[RECORD]}\t{cid}\tpurpose\t{purpose}\t\t{word}\t{NULL}\t"
            + record_end % ("{}", empty_digest, prev, link)
        )
        next_id[RECORD] += 1
