"""Import uploads as files holding personal data: found for an erasure, redacted, purged.

An upload names many people, and a run that has not finished reads it again (a resume continues
after the last committed chunk). Erasing one person therefore neither deletes the upload nor
fails the run: the file is rewritten with that person's rows blanked. Each blanked row keeps its
place ("(erased)" in its first cell, the rest empty), so the count of data rows a resume skips
stays right, and a row not yet applied is refused as incomplete, as the suppression list would
refuse it anyway. A finished run deletes its file at once (imports.services.runs); a run that failed or
never finished loses its file after the retention period in the compliance settings.
"""

from __future__ import annotations

import csv
import logging
import os
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from imports.models import ImportRowError, ImportRun
from imports.readers import FileRefused, open_table, sha256_of
from imports.receipt_reader import looks_like_json

log = logging.getLogger(__name__)
ERASED_CELL = "(erased)"


def stored_upload(run) -> Path | None:
    """The file a run (an import or a rectification) keeps, if it still exists on disk."""
    if not run.file:
        return None
    try:
        path = Path(run.file.path)
    except ValueError:
        return None
    return path if path.is_file() else None


def import_uploads_naming(ids: list[int], identities: list) -> list[ImportRun]:
    """Runs whose stored upload names any of these people (by email, phone or full name)."""
    return uploads_naming(ImportRun.objects.all(), identities)


def uploads_naming(runs, identities: list) -> list:
    """The runs of this queryset whose stored upload names any of these people."""
    from core.filescan import file_mentions

    found = []
    for run in runs.exclude(file=""):
        path = stored_upload(run)
        if path is not None and file_mentions(path, identities):
            found.append(run)
    return found


def import_reports_scrub(runs: list[ImportRun], identities: list) -> None:
    """Inside the erasure: a refused row's key may be the address itself (a source keyed by
    email); the report then says "(erased)" instead. Reasons never name anyone."""
    values = [v for i in identities for v in (i.email, i.phone) if v]
    if values:
        match = Q()
        for value in values:
            match |= Q(source_key__iexact=value)
        ImportRowError.objects.filter(match).update(source_key=ERASED_CELL)


def import_uploads_redact(runs: list[ImportRun], identities: list) -> int:
    """After the erasure committed: rewrite each upload with the person's rows blanked."""
    return sum(import_upload_redact(run_id=run.pk, identities=identities) for run in runs)


def import_upload_redact(*, run_id: int, identities: list) -> int:
    """Rewrite one upload as UTF-8 CSV without the person's rows; returns 1 if it was rewritten.

    A worker reading the old file keeps its open handle (the new file replaces the name, not the
    content under it) and the suppression list refuses the person's rows it has not applied yet;
    a later resume reads the new file, whose digest is stored with it."""
    from core.filescan import record_mentions

    run = ImportRun.objects.filter(pk=run_id).first()
    path = stored_upload(run) if run else None
    if path is None:
        return 0
    if looks_like_json(path):
        # Consent receipts are one JSON document, not rows to blank one by one (rewritten as CSV
        # they would no longer import): a file naming the person goes whole, and the run says why.
        text = path.read_text(encoding="utf-8", errors="replace")
        if not any(record_mentions([text], identity) for identity in identities):
            return 0
        _drop_file(run, _("The stored file was deleted by an erasure; upload it again."))
        return 1
    try:
        table = open_table(path)
    except FileRefused:
        # A file the import cannot read is of no use to anyone: it goes, and the run says why.
        _drop_file(run, _("The stored file was deleted by an erasure; upload it again."))
        return 1
    partial = path.with_name(path.name + ".redacting")
    blanked = 0
    with partial.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(table.header)
        for _number, cells in table.rows:
            if any(record_mentions(cells, identity) for identity in identities):
                cells = [ERASED_CELL] + [""] * (len(cells) - 1)
                blanked += 1
            writer.writerow(cells)
    if not blanked:
        partial.unlink()
        return 0
    # No row lock: an all-or-nothing run holds its row for the whole import, and the officer's
    # erasure must not wait for it. Chunks save named fields only, never the digest.
    os.replace(partial, path)
    ImportRun.objects.filter(pk=run.pk).update(file_sha256=sha256_of(path))
    return 1


def _drop_file(run: ImportRun, message: str) -> None:
    run.file.storage.delete(run.file.name)
    ImportRun.objects.filter(pk=run.pk).exclude(status=ImportRun.Status.DONE).update(
        status=ImportRun.Status.FAILED, error=message, finished_at=timezone.now()
    )
    ImportRun.objects.filter(pk=run.pk).update(file="")


def import_uploads_purge(*, now=None) -> int:
    """Delete uploads older than the retention period whose run is not running (GDPR Art. 5(1)(e)),
    and files in the upload folder that no run names (an upload whose transaction rolled back)."""
    from core.models import ComplianceSettings

    days = ComplianceSettings.load().import_upload_retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    count = 0
    stale = (
        ImportRun.objects.exclude(file="")
        .filter(created_at__lt=cutoff)
        .exclude(status=ImportRun.Status.RUNNING)
    )
    for run in stale:
        existed = stored_upload(run) is not None  # a finished run deleted its file already
        _drop_file(
            run, _("The uploaded file was deleted after %(days)s days (retention period).") % {"days": days}
        )
        count += existed
    root = Path(settings.MEDIA_ROOT) / "imports"
    if root.is_dir():
        named = {
            str(Path(settings.MEDIA_ROOT) / name)
            for name in ImportRun.objects.exclude(file="").values_list("file", flat=True)
        }
        for path in root.rglob("*"):
            if path.is_file() and str(path) not in named and path.stat().st_mtime < cutoff.timestamp():
                path.unlink()
                count += 1
    return count
