"""Starting import runs: an upload, a resume (by an officer or after a dead worker), the nightly refresh.

Each queues the run's task once its transaction commits; running it is imports.services.runs.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from imports.models import ImportRun, ImportSource
from imports.readers import sha256_of

# The name the module had before it became a package: log filters keep matching.
log = logging.getLogger("imports.services")

Status = ImportRun.Status


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
    from imports.tasks import run_import

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
        transaction.on_commit(lambda: run_import.delay(run.pk))
    return run


def import_run_resume(*, run: ImportRun) -> ImportRun:
    """Queue a stalled or failed run again: it continues after its last committed chunk."""
    from imports.tasks import run_import

    with transaction.atomic():
        locked = ImportRun.objects.select_for_update().get(pk=run.pk)
        if locked.status == Status.DONE:
            raise ValidationError(_("This import is finished; upload the file again to import it again."))
        locked.status, locked.error = Status.QUEUED, ""
        locked.save(update_fields=["status", "error"])
        transaction.on_commit(lambda: run_import.delay(locked.pk))
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
            if p.suffix.lower() in {".csv", ".xlsx", ".jsonld", ".jsonl", ".json"}
            and p.is_file()
            and root in p.resolve().parents
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
