"""Bulk rectification (GDPR Art. 16): an officer uploads the workbook the contact list exported for
correction (consent.rectification_sheet), and each changed field goes through the services a hand
edit uses: profile fields through consent.contact_edits.contact_save_with_consent (history with
the file's reason, downstream systems told), identities checked as the API checks them (erased
persons, duplicate addresses). Consent that narrows is changed through consent_change; consent
that widens is never applied from a file: it starts a double opt-in request, like every other
raise that did not come from the person (GDPR Art. 7(1): consent the controller can demonstrate).

Run as a job like an import: in committed chunks with the run's progress (apply-valid-rows), or in
one transaction that one refused row rolls back (all-or-nothing). Rows that change nothing write
nothing. The upload is personal data: registered in imports.privacy, deleted when the run is done
and purged after the retention period otherwise (imports.rectification_files)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from imports.models import Rectification, RectificationRowError
from imports.readers import FileRefused, Table, open_table, sha256_of
from imports.rectification_rows import Columns, Context, Outcome, columns_of, process_chunk

log = logging.getLogger(__name__)
Status = Rectification.Status
PERMISSION = "contacts.rectify_contact"
MAX_REASON = 2000


class _Superseded(Exception):
    """Another worker advanced this run meanwhile (a duplicate delivery): this one stops."""


# --- starting ------------------------------------------------------------------------------


def rectification_start(*, file, file_name: str, reason: str, mode: str, actor) -> Rectification:
    """Check and store the uploaded workbook and queue its run (once this transaction commits).
    A file that is no readable workbook of contacts to correct is refused whole, nothing stored."""
    from imports.tasks import run_rectification

    if not actor.has_perm(PERMISSION):
        raise ValidationError(_("You may not correct contacts in bulk."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": _("Say why these contacts are corrected; it is kept in their history.")}
        )
    if len(reason) > MAX_REASON:
        raise ValidationError(
            {"reason": _("Use at most %(n)s characters for the reason.") % {"n": MAX_REASON}}
        )
    if mode not in Rectification.Mode.values:
        raise ValidationError({"mode": _("Choose all-or-nothing or apply-valid-rows.")})
    limit = settings.IMPORT_MAX_FILE_MB * 1024 * 1024
    if getattr(file, "size", 0) and file.size > limit:
        raise ValidationError(
            {"file": _("The file is larger than %(limit)s MB.") % {"limit": settings.IMPORT_MAX_FILE_MB}}
        )
    run = Rectification(file_name=file_name[:255], reason=reason, mode=mode, created_by=actor)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    run.file.save(f"{stamp}-{get_valid_filename(Path(file_name).name) or 'upload'}", file, save=False)
    try:
        table = _open(run.file.path)
        table.rows.close()
    except FileRefused as refusal:
        run.file.storage.delete(run.file.name)
        raise ValidationError({"file": str(refusal)}) from None
    try:
        with transaction.atomic():
            run.file_sha256 = sha256_of(run.file.path)
            run.save()
            transaction.on_commit(lambda: run_rectification.delay(run.pk))
    except BaseException:
        run.file.storage.delete(run.file.name)
        raise
    return run


@dataclass
class _Table:
    rows: object
    columns: Columns


def _open(path) -> _Table:
    table: Table = open_table(path)
    if table.kind != "xlsx":
        raise FileRefused(
            _("Upload the Excel file (.xlsx) exported with “Export selected for correction”, corrected.")
        )
    return _Table(table.rows, columns_of(table.header))


# --- running -------------------------------------------------------------------------------


def rectification_process(*, run_id: int) -> Rectification:
    """Run (or continue) a rectification. Safe to call again after a crash or a duplicate delivery."""
    with transaction.atomic():
        run = (
            Rectification.objects.select_for_update(of=("self",)).select_related("created_by").get(pk=run_id)
        )
        if run.status in (Status.DONE, Status.FAILED):
            return run
        run.status, run.heartbeat_at = Status.RUNNING, timezone.now()
        run.started_at = run.started_at or run.heartbeat_at
        run.save(update_fields=["status", "started_at", "heartbeat_at"])
    try:
        if run.created_by is None or not run.created_by.has_perm(PERMISSION):
            raise FileRefused(_("The person who uploaded this file may no longer correct contacts in bulk."))
        if run.total_rows is None:
            total = sum(1 for _row in _stored(run).rows)
            Rectification.objects.filter(pk=run.pk).update(total_rows=total)
            run.total_rows = total
        table = _stored(run)
        ctx = Context(run=run, columns=table.columns)
        if run.mode == Rectification.Mode.ALL_OR_NOTHING:
            _run_all_or_nothing(ctx, table.rows)
        else:
            _run_valid_rows(ctx, table.rows)
    except _Superseded:
        log.info("rectification %s: superseded by another worker", run_id)
    except FileRefused as refusal:
        _fail(run_id, str(refusal))
    except Exception:
        log.exception("rectification %s failed", run_id)
        _fail(run_id, _("The rectification stopped on an unexpected error; ask the administrator."))
        raise
    run.refresh_from_db()
    if run.status == Status.DONE and run.file:
        # Data minimisation: a finished run never reads the file again.
        run.file.storage.delete(run.file.name)
        Rectification.objects.filter(pk=run.pk).update(file="")
    return run


def _stored(run: Rectification) -> _Table:
    try:
        digest = sha256_of(run.file.path)
    except (ValueError, OSError):
        raise FileRefused(_("The uploaded file is no longer stored; upload it again.")) from None
    if digest != run.file_sha256:
        raise FileRefused(_("The stored file changed since the upload; upload it again."))
    return _open(run.file.path)


def _fail(run_id: int, message: str) -> None:
    Rectification.objects.filter(pk=run_id).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )


def _chunks(iterator, size):
    while batch := list(islice(iterator, size)):
        yield batch


def _lock_at(run: Rectification, expected_next: int) -> Rectification:
    locked = Rectification.objects.select_for_update().get(pk=run.pk)
    if locked.status != Status.RUNNING or locked.next_row != expected_next:
        raise _Superseded
    return locked


def _save_errors(run: Rectification, errors) -> None:
    RectificationRowError.objects.bulk_create(
        [RectificationRowError(rectification=run, row=n, column=c, reason=r) for n, c, r in errors],
        batch_size=1000,
    )


COUNTERS = ("applied", "unchanged", "changes", "confirmations", "refused")


def _add(locked: Rectification, outcome: Outcome) -> None:
    locked.applied_rows += outcome.applied
    locked.unchanged_rows += outcome.unchanged
    locked.changes += outcome.changes
    locked.confirmations += outcome.confirmations
    locked.refused_rows += outcome.refused


SAVED = [
    "next_row",
    "applied_rows",
    "unchanged_rows",
    "changes",
    "confirmations",
    "refused_rows",
    "heartbeat_at",
]


def _run_valid_rows(ctx: Context, rows) -> None:
    run, done = ctx.run, ctx.run.next_row
    for chunk in _chunks(islice(rows, done, None), settings.IMPORT_CHUNK_ROWS):
        with transaction.atomic():
            locked = _lock_at(run, done)
            outcome = process_chunk(ctx, chunk)
            _save_errors(run, outcome.errors)
            done += len(chunk)
            locked.next_row, locked.heartbeat_at = done, timezone.now()
            _add(locked, outcome)
            locked.save(update_fields=SAVED)
    Rectification.objects.filter(pk=run.pk, status=Status.RUNNING).update(
        status=Status.DONE, finished_at=timezone.now()
    )


def _run_all_or_nothing(ctx: Context, rows) -> None:
    run, total = ctx.run, Outcome()
    with transaction.atomic():
        locked = _lock_at(run, 0)
        for chunk in _chunks(rows, settings.IMPORT_CHUNK_ROWS):
            outcome = process_chunk(ctx, chunk)
            for name in COUNTERS:
                setattr(total, name, getattr(total, name) + getattr(outcome, name))
            total.errors += outcome.errors
        if not total.errors:
            locked.next_row, locked.heartbeat_at = run.total_rows or 0, timezone.now()
            _add(locked, total)
            locked.status, locked.finished_at = Status.DONE, timezone.now()
            locked.save(update_fields=[*SAVED, "status", "finished_at"])
            return
        transaction.set_rollback(True)  # one refused row: nothing of this file is applied
    with transaction.atomic():
        _save_errors(run, total.errors)
        Rectification.objects.filter(pk=run.pk).update(
            status=Status.FAILED,
            finished_at=timezone.now(),
            refused_rows=total.refused,
            error=_("%(count)s rows were refused, so nothing was corrected (all or nothing).")
            % {"count": total.refused},
        )


def rectifications_resume_stalled(*, now=None) -> int:
    """Queue again the apply-valid-rows runs whose worker died (no heartbeat for
    IMPORT_STALL_MINUTES) and those whose message was lost: each continues after its last
    committed chunk. All-or-nothing runs commit nothing while they work and are left alone."""
    from imports.tasks import run_rectification

    cutoff = (now or timezone.now()) - dt.timedelta(minutes=settings.IMPORT_STALL_MINUTES)
    stalled = list(
        Rectification.objects.filter(
            Q(status=Status.RUNNING, mode=Rectification.Mode.VALID_ROWS, heartbeat_at__lt=cutoff)
            | Q(status=Status.QUEUED, created_at__lt=cutoff)
        ).values_list("pk", flat=True)
    )
    for pk in stalled:
        run_rectification.delay(pk)
    return len(stalled)
