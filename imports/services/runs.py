"""Running an import: read the stored file in chunks, commit each with the run's progress, finish.

A chunk's changes, its refused rows and the run's progress commit together, so a rerun after a
crash continues after the last committed chunk and never applies a row twice; all-or-nothing runs
are one transaction. Applying one chunk is imports.services.chunks.
"""

from __future__ import annotations

import logging
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.bulk import dialect
from core.connection_loss import CONNECTION_LOST
from imports.models import ImportedConsent, ImportRowError, ImportRun
from imports.readers import FileRefused, Limits, Table, open_table, sha256_of
from imports.receipt_reader import looks_like_json, open_receipts
from imports.services.chunks import _Context, _Outcome, _process_chunk, _withdraw_removed
from imports.services.rows import _column_index

# The name the module had before it became a package: log filters keep matching.
log = logging.getLogger("imports.services")

Status = ImportRun.Status
MAX_REPORTED_ERRORS_IN_MEMORY = 10_000  # all-or-nothing keeps refusals in memory until rollback


class _Superseded(Exception):
    """Another worker advanced this run meanwhile (a duplicate delivery): this one stops."""


def _rows(run: ImportRun) -> tuple[Table, dict[str, int]]:
    try:
        digest = sha256_of(run.file.path)
    except (ValueError, OSError):
        raise FileRefused(_("The uploaded file is no longer stored; upload it again.")) from None
    if digest != run.file_sha256:
        raise FileRefused(_("The stored file changed since the upload; upload it again."))
    if looks_like_json(Path(run.file.path)):  # consent receipts: their roles are fixed, not mapped
        table = open_receipts(Path(run.file.path), Limits.from_settings())
        return table, {role: position for position, role in enumerate(table.header)}
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


class _FreshStatistics:
    """ANALYZE the tables an import grows whenever the rows it went through have doubled. A first
    import into a new source otherwise plans each chunk's key lookups with the statistics of an
    empty table, reading every row of the source per chunk (quadratic: 42 ms per chunk of 500 at
    100,000 rows already, measured). A few ANALYZEs per run, each a sample of 30,000 rows."""

    def __init__(self, done: int):
        self.next = max(2 * done, 4 * settings.IMPORT_CHUNK_ROWS)

    def after(self, done: int) -> None:
        if done >= self.next:
            dialect(connection).analyze([ImportedConsent, ImportedConsent.contacts.through])
            self.next = 2 * done


def _run_valid_rows(ctx: _Context, table: Table) -> None:
    run = ctx.run
    done = run.next_row
    statistics = _FreshStatistics(done)
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
        statistics.after(done)
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
        statistics, done = _FreshStatistics(0), 0
        for chunk in _chunks(table.rows, settings.IMPORT_CHUNK_ROWS):
            outcome = _process_chunk(ctx, chunk)
            done += len(chunk)
            statistics.after(done)  # inside the transaction: ANALYZE counts its own rows
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
