"""Consent imports: store a file, run it in chunks through the consent service, report refusals.

Every consent change goes through the consent service (consent_changes_apply, one call per chunk,
one group per row) with source "import" and the file and row as evidence (rule 1 of DESIGN.md). A
chunk's changes, its refused rows and the run's progress commit together, so a rerun after a crash
continues after the last committed chunk and never applies a row twice; all-or-nothing runs are
one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename, slugify
from django.utils.translation import gettext as _

from config.bulk import bulk_insert, bulk_set
from config.connection_loss import CONNECTION_LOST
from config.safe_json import text_problem
from consent.levels import ConsentLevel
from consent.models import Purpose, Source
from consent.rules import consent_refusal
from consent.services import ConsentWish, consent_changes_apply
from contacts.models import Contact
from contacts.normalize import normalize_email, normalize_phone
from contacts.services import contacts_create
from contacts.suppression import suppressed_values
from imports.models import ImportedConsent, ImportRowError, ImportRun, ImportSource
from imports.readers import FileRefused, Table, open_table, sha256_of

log = logging.getLogger(__name__)

Status = ImportRun.Status
TRUE_WORDS = {"true", "yes", "y", "1", "ja", "j", "wahr", "granted", "opt-in", "x"}
FALSE_WORDS = {"false", "no", "n", "0", "nein", "falsch", "denied", "opt-out"}
MAX_REPORTED_ERRORS_IN_MEMORY = 10_000  # all-or-nothing keeps refusals in memory until rollback
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


# --- starting runs ---------------------------------------------------------------------------


def import_run_start(
    *,
    source: ImportSource,
    file,
    file_name: str,
    mode: str = ImportRun.Mode.VALID_ROWS,
    actor=None,
    trigger: str = ImportRun.Trigger.UPLOAD,
) -> ImportRun:
    """Store the file and queue its import (the task starts once this transaction commits)."""
    from imports.tasks import import_run_task

    if mode not in ImportRun.Mode.values:
        raise ValidationError({"mode": _("Choose all-or-nothing or apply-valid-rows.")})
    limit = settings.IMPORT_MAX_FILE_MB * 1024 * 1024
    if getattr(file, "size", 0) and file.size > limit:
        raise ValidationError(
            {"file": _("The file is larger than %(limit)s MB.") % {"limit": settings.IMPORT_MAX_FILE_MB}}
        )
    with transaction.atomic():
        run = ImportRun(
            source=source, file_name=file_name[:255], mode=mode, created_by=actor, trigger=trigger
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        run.file.save(f"{stamp}-{get_valid_filename(Path(file_name).name) or 'upload'}", file, save=False)
        run.file_sha256 = sha256_of(run.file.path)
        run.save()
        transaction.on_commit(lambda: import_run_task.delay(run.pk))
    return run


def import_run_resume(*, run: ImportRun) -> ImportRun:
    """Queue a stalled or failed run again: it continues after its last committed chunk."""
    from imports.tasks import import_run_task

    with transaction.atomic():
        locked = ImportRun.objects.select_for_update().get(pk=run.pk)
        if locked.status == Status.DONE:
            raise ValidationError(_("This import is finished; upload the file again to import it again."))
        locked.status, locked.error = Status.QUEUED, ""
        locked.save(update_fields=["status", "error"])
        transaction.on_commit(lambda: import_run_task.delay(locked.pk))
    return locked


def import_runs_resume_stalled(*, now=None) -> int:
    """Re-queue runs whose worker died (no heartbeat for IMPORT_STALL_MINUTES). Idempotent."""
    cutoff = (now or timezone.now()) - dt.timedelta(minutes=settings.IMPORT_STALL_MINUTES)
    # All-or-nothing runs commit no heartbeat while they work (one transaction): a rerun would only
    # wait for them, so they are left alone; a dead one is resumed from the admin.
    stalled = ImportRun.objects.filter(
        status=Status.RUNNING, mode=ImportRun.Mode.VALID_ROWS, heartbeat_at__lt=cutoff
    ) | ImportRun.objects.filter(status=Status.QUEUED, created_at__lt=cutoff)
    count = 0
    for run in stalled:
        import_run_resume(run=run)
        count += 1
    return count


def _refresh_file(source: ImportSource) -> Path | None:
    target = source.refresh_location()
    if target.is_dir():
        root = Path(settings.IMPORT_DROP_DIR).resolve()
        # resolve(): a link in the drop folder must not lead to a file elsewhere on the server.
        candidates = [
            p.resolve()
            for p in target.iterdir()
            if p.suffix.lower() in {".csv", ".xlsx"} and p.is_file() and root in p.resolve().parents
        ]
        return max(candidates, key=lambda p: (p.stat().st_mtime, p.name), default=None)
    return target if target.is_file() else None


def import_sources_refresh() -> list[ImportRun]:
    """Nightly: import each refreshing source's file again, when it changed since the last import.

    A run that is still queued or running is not stacked upon; an unchanged file starts nothing.
    """
    started = []
    for source in ImportSource.objects.filter(refresh_enabled=True).exclude(refresh_path=""):
        try:
            path = _refresh_file(source)
        except (ValidationError, OSError):
            log.warning("import source %s: refresh path unusable", source.pk)
            continue
        if path is None:
            continue
        digest = sha256_of(path)
        runs = source.runs.all()
        if runs.filter(status__in=[Status.QUEUED, Status.RUNNING]).exists():
            continue
        last = runs.filter(status=Status.DONE).order_by("-id").first()
        if last is not None and last.file_sha256 == digest:
            continue
        with path.open("rb") as handle:
            started.append(
                import_run_start(
                    source=source,
                    file=File(handle),
                    file_name=path.name,
                    mode=source.refresh_mode,
                    trigger=ImportRun.Trigger.REFRESH,
                )
            )
    return started


# --- parsing one row -------------------------------------------------------------------------


class RowRefused(Exception):
    pass


def parse_value(raw: str) -> bool:
    word = raw.strip().lower()
    if not word:
        raise RowRefused(_("The consent value is missing."))
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise RowRefused(
        _("“%(value)s” is not a consent value (use true/false, yes/no, 1/0).") % {"value": raw[:50]}
    )


def parse_date(raw: str) -> dt.datetime:
    """ISO 8601 (2026-03-01, with or without a time) or dd.mm.yyyy; d/m/yyyy only when unambiguous."""
    text = raw.strip()
    if not text:
        raise RowRefused(_("The date is missing."))
    day = None
    try:
        if _ISO_DATE.match(text):
            day = dt.date.fromisoformat(text)
        elif match := _DOTTED.match(text):
            day = dt.date(int(match[3]), int(match[2]), int(match[1]))
        elif match := _SLASHED.match(text):
            first, second, year = int(match[1]), int(match[2]), int(match[3])
            if first <= 12 and second <= 12 and first != second:
                raise RowRefused(
                    _("The date “%(value)s” is ambiguous (day/month or month/day?); write it as 2026-03-01.")
                    % {"value": text}
                )
            # 25/03/2026 can only be day/month, 03/25/2026 only month/day.
            day = dt.date(year, second, first) if first >= second else dt.date(year, first, second)
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            return moment
    except ValueError:
        raise RowRefused(
            _("“%(value)s” is not a date (use 2026-03-01 or 01.03.2026).") % {"value": text[:50]}
        ) from None
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def parse_level(raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if text.isdigit() and int(text) in ConsentLevel.values:
        return int(text)
    raise RowRefused(_("“%(value)s” is not a consent level (0–5).") % {"value": text[:50]})


@dataclass
class Row:
    number: int
    key: str
    kind: str  # "email" or "phone"
    ident: str
    option: str
    granted: bool
    effective_at: dt.datetime
    level: int | None
    purpose: Purpose | None = None

    def digest(self) -> str:
        facts = [
            self.kind,
            self.ident,
            self.purpose.pk,
            self.granted,
            self.effective_at.isoformat(),
            self.level,
        ]
        return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


def _parse_row(number: int, cells: list[str], index: dict[str, int], now: dt.datetime) -> Row:
    def cell(role: str) -> str:
        position = index.get(role)
        return cells[position].strip() if position is not None and position < len(cells) else ""

    for position, text in enumerate(cells, start=1):
        # No database stores a NUL (PostgreSQL refused the whole chunk with a DataError).
        if problem := text_problem(text):
            raise RowRefused(_("Column %(column)s: %(problem)s") % {"column": position, "problem": problem})
    key = cell("key")
    if not key:
        raise RowRefused(_("The row has no primary key."))
    if len(key) > 200:
        raise RowRefused(_("The primary key is longer than 200 characters."))
    kind, ident = "", ""
    # The reasons never repeat an address or a number: the report is read by more people than the file.
    if email := cell("email"):
        try:
            kind, ident = "email", normalize_email(email)
        except ValidationError:
            raise RowRefused(_("The email address is not valid.")) from None
    elif phone := cell("phone"):
        try:
            kind, ident = "phone", normalize_phone(phone)
        except ValidationError:
            raise RowRefused(_("The phone number is not valid.")) from None
    if not ident:
        raise RowRefused(_("The row has neither an email address nor a phone number."))
    if len(ident) > Contact._meta.get_field(kind).max_length:
        raise RowRefused(
            _("The email address is too long.") if kind == "email" else _("The phone number is too long.")
        )
    option = cell("option")
    if not option:
        raise RowRefused(_("The consent option is missing."))
    granted = parse_value(cell("value"))
    effective_at = parse_date(cell("date")) if "date" in index else now
    if effective_at > now:
        raise RowRefused(_("The date lies in the future."))
    level = parse_level(cell("level")) if "level" in index else None
    return Row(number, key, kind, ident, option, granted, effective_at, level)


# --- running ---------------------------------------------------------------------------------


class _Superseded(Exception):
    """Another worker advanced this run meanwhile (a duplicate delivery): this one stops."""


@dataclass
class _Context:
    run: ImportRun
    source: ImportSource
    index: dict[str, int]
    now: dt.datetime
    purposes: dict[str, Purpose] = field(default_factory=dict)
    seen_keys: set[str] = field(default_factory=set)

    def purpose_for(self, option: str) -> Purpose:
        if option in self.purposes:
            return self.purposes[option]
        wanted = self.source.option_map.get(option, option)
        purpose = (
            Purpose.objects.filter(slug=wanted).first() or Purpose.objects.filter(name__iexact=wanted).first()
        )
        if purpose is None and self.source.unknown_options == ImportSource.UnknownOptions.CREATE:
            if len(option) > 100:
                raise RowRefused(_("The consent option is longer than 100 characters."))
            slug = (slugify(option) or "option")[:90]
            if Purpose.objects.filter(slug=slug).exists():
                slug = f"{slug}-{hashlib.sha256(option.encode()).hexdigest()[:8]}"
            purpose = Purpose.objects.create(name=option, slug=slug, description="")
        if purpose is None:
            raise RowRefused(_("Unknown consent option “%(option)s”.") % {"option": option[:100]})
        self.purposes[option] = purpose
        return purpose


def _column_index(header: list[str], source: ImportSource) -> dict[str, int]:
    positions = {}
    lowered = [h.strip().lower() for h in header]
    for role, column in source.columns.items():
        try:
            positions[role] = lowered.index(column.lower())
        except ValueError:
            raise FileRefused(
                _("The column “%(column)s” is missing; the file has: %(found)s.")
                % {"column": column, "found": ", ".join(h for h in header if h)[:500]}
            ) from None
    return positions


@dataclass
class _Outcome:
    applied: int = 0
    unchanged: int = 0
    changes: int = 0
    withdrawn: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, key, reason)


def _process_chunk(ctx: _Context, chunk: list[tuple[int, list[str]]]) -> _Outcome:
    """Apply one chunk of rows, set-based. Call inside a transaction; a refused row changes nothing."""
    outcome = _Outcome()
    parsed: list[Row] = []
    for number, cells in chunk:
        try:
            row = _parse_row(number, cells, ctx.index, ctx.now)
            if row.key in ctx.seen_keys:
                raise RowRefused(_("The primary key “%(key)s” appears twice in the file.") % {"key": row.key})
            ctx.seen_keys.add(row.key)
            row.purpose = ctx.purpose_for(row.option)
            parsed.append(row)
        except RowRefused as refusal:
            key = cells[ctx.index["key"]].strip()[:200] if ctx.index["key"] < len(cells) else ""
            key = "" if text_problem(key) else key  # the report cannot store it either
            outcome.errors.append((number, key, str(refusal)))
    source, run = ctx.source, ctx.run

    # Keys refused above still count as present in the export: their consent is not withdrawn.
    keys = [number_key for _n, number_key, _r in outcome.errors if number_key] + [r.key for r in parsed]
    existing = {
        ic.source_key: ic for ic in ImportedConsent.objects.filter(source=source, source_key__in=keys)
    }
    # After a resume, a key already marked by this run was in a chunk committed before the crash.
    repeated = {k for k, ic in existing.items() if ic.last_run_id == run.pk}
    suppressed = suppressed_values([(r.kind, r.ident) for r in parsed])

    todo: list[Row] = []
    for row in parsed:
        if (row.kind, row.ident) in suppressed:
            outcome.errors.append(
                (row.number, row.key, _("This person's data was erased; their rows are refused."))
            )
        elif existing.get(row.key) and existing[row.key].digest == row.digest():
            outcome.unchanged += 1
        elif row.key in repeated:
            outcome.errors.append(
                (
                    row.number,
                    row.key,
                    _("The primary key “%(key)s” appears twice in the file.") % {"key": row.key},
                )
            )
        else:
            todo.append(row)

    # One query per identifier kind for the whole chunk: all contacts sharing each address.
    by_ident: dict[tuple[str, str], list[int]] = {}  # contact ids
    for kind in ("email", "phone"):
        wanted = {r.ident for r in todo if r.kind == kind}
        if wanted:
            found = Contact.objects.filter(**{f"{kind}__in": wanted}).order_by("pk").values_list("pk", kind)
            for pk, ident in found:
                by_ident.setdefault((kind, ident), []).append(pk)

    actor = run.created_by
    # Addresses nobody has yet: one insert for the chunk's new people. A row for a new person can
    # only be refused earlier (above) or for a retired purpose, checked here before anyone is made.
    ready = []
    for row in todo:
        if (
            refusal := consent_refusal(source=Source.IMPORT, purposes={row.purpose: row.granted})
        ) is not None:
            outcome.errors.append((row.number, row.key, "; ".join(refusal.messages)))
        elif not by_ident.get((row.kind, row.ident)) and not source.create_contacts:
            outcome.errors.append(
                (row.number, row.key, _("No contact has this email address or phone number."))
            )
        else:
            ready.append(row)
    new_people = list(dict.fromkeys((r.kind, r.ident) for r in ready if not by_ident.get((r.kind, r.ident))))
    created = contacts_create(
        people=[{kind: ident} for kind, ident in new_people], actor=actor, reason=f"import {run.pk}"
    )
    for key, contact in zip(new_people, created, strict=True):
        by_ident[key] = [contact.pk]
    # Translated once: the same words for every row.
    justification_text = _("Import “%(source)s”, file %(file)s, row %(row)s")

    groups, placed = [], []
    for row in ready:
        contacts = by_ident[(row.kind, row.ident)]
        justification = justification_text % {
            "source": source.name,
            "file": run.file_name,
            "row": row.number,
        }
        evidence = {
            "import_run": run.pk,
            "import_source": source.name,
            "file": run.file_name,
            "row": row.number,
            "source_key": row.key,
        }
        groups.append(
            [
                ConsentWish(
                    contact_id=pk,
                    purposes={row.purpose: row.granted},
                    level=row.level,
                    justification=justification,
                    evidence=evidence,
                    effective_at=row.effective_at,
                    keep_answers_after=row.effective_at,
                )
                for pk in contacts
            ]
        )
        placed.append((row, contacts))
    # One row is one group: all its contacts change, or the row is refused whole. A contact whose
    # answer is newer than the row keeps it (a withdrawal in the admin survives an old export);
    # the service checks that under its lock, against the rows of this chunk applied before.
    applied = consent_changes_apply(
        groups=groups, source=Source.IMPORT, actor=actor, channel=source.name[:64]
    )

    records, links = [], []
    for (row, contacts), result in zip(placed, applied.outcomes, strict=True):
        if isinstance(result, ValidationError):
            outcome.errors.append((row.number, row.key, "; ".join(result.messages)))
            continue
        record = existing.get(row.key) or ImportedConsent(source=source, source_key=row.key)
        record.digest, record.purpose, record.granted = row.digest(), row.purpose, row.granted
        record.level, record.effective_at, record.last_run = row.level, row.effective_at, run
        records.append(record)
        links.append(contacts)
        outcome.applied += 1
        outcome.changes += len(result)
    _imported_consent_save(records, links)
    # Mark every other key of the chunk as present in this export (unchanged and refused ones).
    ImportedConsent.objects.filter(source=source, source_key__in=keys).exclude(last_run=run).update(
        last_run=run
    )
    outcome.errors.sort()
    return outcome


def _imported_consent_save(records: list[ImportedConsent], links: list[list[int]]) -> None:
    """Store what the source said for each applied row, and which contacts it reached."""
    now = timezone.now()
    known = [r for r in records if r.pk is not None]
    for record in known:
        record.updated_at = now
    bulk_set(
        ImportedConsent,
        known,
        ["digest", "purpose", "granted", "level", "effective_at", "last_run", "updated_at"],
    )
    bulk_insert(ImportedConsent, [r for r in records if r.pk is None])
    through = ImportedConsent.contacts.through
    through.objects.filter(importedconsent_id__in=[r.pk for r in known]).delete()
    bulk_insert(
        through,
        [
            through(importedconsent_id=record.pk, contact_id=pk)
            for record, contact_ids in zip(records, links, strict=True)
            for pk in contact_ids
        ],
    )


def _withdraw_removed(ctx: _Context, *, limit: int | None = None) -> _Outcome:
    """Consent imported earlier whose row has left the export: withdraw it (or keep, as mapped)."""
    outcome = _Outcome()
    if ctx.source.removed_consent != ImportSource.RemovedConsent.WITHDRAW:
        return outcome
    gone = (
        ImportedConsent.objects.filter(source=ctx.source)
        .exclude(last_run=ctx.run)
        .select_related("purpose")
        .prefetch_related("contacts")
        .order_by("pk")
    )
    gone = list(gone[:limit] if limit else gone)
    groups = []
    for record in gone:
        evidence = {
            "import_run": ctx.run.pk,
            "import_source": ctx.source.name,
            "file": ctx.run.file_name,
            "removed_from_export": True,
            "source_key": record.source_key,
        }
        justification = _("Import “%(source)s”: key %(key)s is no longer in the export %(file)s") % {
            "source": ctx.source.name,
            "key": record.source_key,
            "file": ctx.run.file_name,
        }
        groups += [
            [
                ConsentWish(
                    contact_id=c.pk,
                    purposes={record.purpose: False},
                    justification=justification,
                    evidence=evidence,
                    # Only answers that still are the imported one: a newer answer through another
                    # channel (the subscription center, the admin) is the person's choice and stays.
                    keep_answers_after=record.effective_at,
                )
            ]
            for c in record.contacts.all()
        ]
    applied = consent_changes_apply(
        groups=groups, source=Source.IMPORT, actor=ctx.run.created_by, channel=ctx.source.name[:64]
    )
    for result in applied.outcomes:
        if isinstance(result, ValidationError):
            if result.code == "older":  # a newer answer stays: nothing to withdraw
                continue
            raise result  # withdrawing narrows: nothing else refuses it
        outcome.changes += len(result)
    ImportedConsent.objects.filter(pk__in=[record.pk for record in gone]).delete()
    outcome.withdrawn = len(gone)
    return outcome


def _rows(run: ImportRun) -> tuple[Table, dict[str, int]]:
    try:
        digest = sha256_of(run.file.path)
    except (ValueError, OSError):
        raise FileRefused(_("The uploaded file is no longer stored; upload it again.")) from None
    if digest != run.file_sha256:
        raise FileRefused(_("The stored file changed since the upload; upload it again."))
    table = open_table(run.file.path)
    return table, _column_index(table.header, run.source)


def _chunks(iterator, size):
    while batch := list(islice(iterator, size)):
        yield batch


def import_run_process(*, run_id: int) -> ImportRun:
    """Run (or continue) an import. Safe to call again after a crash or a duplicate delivery."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().select_related("source").get(pk=run_id)
        if run.status in (Status.DONE, Status.FAILED):
            return run
        now = timezone.now()
        run.status, run.started_at, run.heartbeat_at = Status.RUNNING, run.started_at or now, now
        run.attempts += 1
        run.save(update_fields=["status", "started_at", "heartbeat_at", "attempts"])
    try:
        if run.total_rows is None:
            # A first pass checks the file's limits end to end before anything is applied, so a file
            # that breaks one at row 900,000 is refused whole, and it gives the progress bar its total.
            table, _index = _rows(run)
            total = sum(1 for _ in table.rows)
            ImportRun.objects.filter(pk=run.pk).update(total_rows=total)
            run.total_rows = total
        table, index = _rows(run)
        ctx = _Context(run=run, source=run.source, index=index, now=timezone.now())
        if run.mode == ImportRun.Mode.ALL_OR_NOTHING:
            _run_all_or_nothing(ctx, table)
        else:
            _run_valid_rows(ctx, table)
    except _Superseded:
        log.info("import run %s: superseded by another worker", run_id)
    except CONNECTION_LOST:
        # The database connection died: the chunk in flight was rolled back with it, and the run
        # stays running so the task's retry (or the stalled-run job) goes on after the last
        # committed chunk. Marking it failed would wait for an officer for nothing.
        log.warning("import run %s: database connection lost; retried", run_id)
        raise
    except FileRefused as refusal:
        _fail(run_id, str(refusal))
    except Exception:
        log.exception("import run %s failed", run_id)
        _fail(run_id, _("The import stopped on an unexpected error; resume it or ask the administrator."))
        raise
    run.refresh_from_db()
    if run.status == Status.DONE and run.file:
        # Data minimisation: the export holds personal data and a finished run never reads it again
        # (its outcome is in ImportedConsent, the change records and the report).
        run.file.storage.delete(run.file.name)
    return run


def _fail(run_id: int, message: str) -> None:
    ImportRun.objects.filter(pk=run_id).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )


def _lock_at(run: ImportRun, expected_next: int) -> ImportRun:
    locked = ImportRun.objects.select_for_update().get(pk=run.pk)
    if locked.status != Status.RUNNING or locked.next_row != expected_next:
        raise _Superseded
    return locked


def _save_errors(run: ImportRun, errors) -> None:
    ImportRowError.objects.bulk_create(
        [ImportRowError(run=run, row=n, source_key=key, reason=reason) for n, key, reason in errors],
        batch_size=1000,
    )


def _run_valid_rows(ctx: _Context, table: Table) -> None:
    run = ctx.run
    done = run.next_row
    # Keys of the rows committed before a crash are in ImportedConsent with last_run = this run.
    rows = islice(table.rows, done, None)
    for chunk in _chunks(rows, settings.IMPORT_CHUNK_ROWS):
        with transaction.atomic():
            locked = _lock_at(run, done)
            outcome = _process_chunk(ctx, chunk)
            _save_errors(run, outcome.errors)
            done += len(chunk)
            locked.next_row = done
            locked.applied_rows += outcome.applied
            locked.unchanged_rows += outcome.unchanged
            locked.refused_rows += len(outcome.errors)
            locked.changes += outcome.changes
            locked.heartbeat_at = timezone.now()
            locked.save(
                update_fields=[
                    "next_row",
                    "applied_rows",
                    "unchanged_rows",
                    "refused_rows",
                    "changes",
                    "heartbeat_at",
                ]
            )
    while True:  # withdrawals in chunks too, each with the count it adds
        with transaction.atomic():
            locked = _lock_at(run, done)
            outcome = _withdraw_removed(ctx, limit=settings.IMPORT_CHUNK_ROWS)
            locked.withdrawn += outcome.withdrawn
            locked.changes += outcome.changes
            locked.heartbeat_at = timezone.now()
            if not outcome.withdrawn:
                locked.status, locked.finished_at = Status.DONE, timezone.now()
            locked.save(update_fields=["withdrawn", "changes", "heartbeat_at", "status", "finished_at"])
        if not outcome.withdrawn:
            return


def _run_all_or_nothing(ctx: _Context, table: Table) -> None:
    run = ctx.run
    total = _Outcome()
    more_errors = 0
    with transaction.atomic():
        locked = _lock_at(run, 0)
        for chunk in _chunks(table.rows, settings.IMPORT_CHUNK_ROWS):
            outcome = _process_chunk(ctx, chunk)
            total.applied += outcome.applied
            total.unchanged += outcome.unchanged
            total.changes += outcome.changes
            room = MAX_REPORTED_ERRORS_IN_MEMORY - len(total.errors)
            total.errors += outcome.errors[:room]
            more_errors += max(0, len(outcome.errors) - room)
        if not total.errors:
            removed = _withdraw_removed(ctx)
            locked.next_row = run.total_rows or 0
            locked.applied_rows, locked.unchanged_rows = total.applied, total.unchanged
            locked.changes = total.changes + removed.changes
            locked.withdrawn = removed.withdrawn
            locked.status, locked.finished_at = Status.DONE, timezone.now()
            locked.save()
            return
        transaction.set_rollback(True)  # one refused row: nothing of this file is applied
    with transaction.atomic():
        _save_errors(run, total.errors)
        refused = len(total.errors) + more_errors
        ImportRun.objects.filter(pk=run.pk).update(
            status=Status.FAILED,
            finished_at=timezone.now(),
            refused_rows=refused,
            error=_("%(count)s rows were refused, so nothing was imported (all or nothing).")
            % {"count": refused}
            + (_(" The report lists the first %(n)s.") % {"n": len(total.errors)} if more_errors else ""),
        )
