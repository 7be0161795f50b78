"""Segment exports: the file of a segment's eligible members, written by a Celery job, and what an
erasure does to the files that name the erased person."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.batches import batch_size
from core.db_router import replica_reads
from core.files import written_whole
from core.levels import level_choices
from core.xlsx import FORMULA_START, plain_value, write_workbook
from journeys.models import Segment, SegmentExport
from journeys.selectors import segment_members


def segment_export_start(*, segment: Segment, user, format: str = SegmentExport.Format.XLSX) -> SegmentExport:
    """Queue an export of the segment's eligible members; a Celery job writes the file."""
    from journeys.tasks import build_segment_export

    export = SegmentExport(segment=segment, requested_by=user, format=format)
    export.full_clean()
    with transaction.atomic():
        export.save()
        transaction.on_commit(lambda: build_segment_export.delay(export.pk))
    return export


# The level as a number (for machines) and in words (for people reading the sheet).
EXPORT_HEADER = [
    "Contact id",
    "First name",
    "Last name",
    "Email",
    "Phone",
    "Country",
    "Consent level",
    "Consent",
]
PROGRESS_EVERY = 1000


def segment_export_build(*, export_id: int) -> SegmentExport:
    """Write the file of one export job, reporting progress. A rerun rewrites the same file."""
    export, members = _export_run_start(export_id)
    if members is None:
        return export
    folder = Path(settings.MEDIA_ROOT) / "segment-exports"
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"segment-exports/segment-{export.segment_id}-export-{export.pk}.{export.format}"
    values = members.values_list(
        "pk", "first_name", "last_name", "email", "phone", "country", "consent_given"
    )

    levels = dict(level_choices(numbered=False))

    def rows():
        for written, row in enumerate(_in_batches(values, limit=settings.EXPORT_MAX_ROWS), 1):
            yield (*row, levels.get(row[-1], ""))
            if written % PROGRESS_EVERY == 0:
                SegmentExport.objects.filter(pk=export.pk).update(written=written)

    path = Path(settings.MEDIA_ROOT) / relative
    try:
        # The members may come from the replica once it has replayed this job's start (marked
        # running above): an erasure committed before then is in what it reads, and one after
        # fails the export (the compare-and-set below).
        with replica_reads(catch_up=True):
            written = _export_write(export, path, rows())
    except Exception as error:
        SegmentExport.objects.filter(pk=export.pk, status=SegmentExport.Status.RUNNING).update(
            status=SegmentExport.Status.FAILED, error=str(error)[:1000], finished_at=timezone.now()
        )
        raise
    # Compare-and-set: an erasure that ran meanwhile failed this export (its file may name the
    # erased person, read before the erasure committed); the file is then not kept. Another run
    # of the same job (a redelivered task) may have finished it instead: the file in place was
    # written whole by one of the two runs, and is kept.
    done = SegmentExport.objects.filter(pk=export.pk, status=SegmentExport.Status.RUNNING).update(
        status=SegmentExport.Status.DONE, written=written, file=relative, finished_at=timezone.now()
    )
    if not done and not SegmentExport.objects.filter(pk=export.pk, status=SegmentExport.Status.DONE).exists():
        path.unlink(missing_ok=True)
    export.refresh_from_db()
    return export


def _in_batches(values, *, limit: int):
    """The members' rows in pk order, LONG_JOB_BATCH_SIZE per query, each query starting after the
    last key read: one query over ten million members held its snapshot (and on PostgreSQL a
    cursor materialised whole) for the length of the export."""
    size, last, left = batch_size(), 0, limit
    while left > 0:
        wanted = min(size, left)
        batch = list(values.filter(pk__gt=last).order_by("pk")[:wanted])
        yield from batch
        if len(batch) < wanted:
            return
        last, left = batch[-1][0], left - len(batch)


def _export_run_start(export_id: int):
    """Mark the job running, with its total; members None when it is done already."""
    with transaction.atomic():
        export = SegmentExport.objects.select_for_update().select_related("segment").get(pk=export_id)
        if export.status == SegmentExport.Status.DONE:
            return export, None
        members = segment_members(segment=export.segment).order_by("pk")
        export.total = min(members.count(), settings.EXPORT_MAX_ROWS)
        export.status, export.written, export.error = SegmentExport.Status.RUNNING, 0, ""
        export.save(update_fields=["total", "status", "written", "error"])
    return export, members


def _export_write(export: SegmentExport, path: Path, rows) -> int:
    """Write the rows as the export's format, whole or not at all (written_whole); the row count."""
    if export.format == SegmentExport.Format.CSV:
        with written_whole(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(EXPORT_HEADER)
            written = 0
            for written, row in enumerate(rows, 1):  # noqa: B007 (the count is returned)
                writer.writerow([_csv_safe(v) for v in row])
        return written
    with written_whole(path) as out:
        return write_workbook(out, title=_sheet_title(str(export.segment)), header=EXPORT_HEADER, rows=rows)


def segment_export_file(export: SegmentExport) -> Path:
    """Where the build writes (or wrote) the file, whether or not the row names it yet."""
    return Path(settings.MEDIA_ROOT) / (
        export.file or f"segment-exports/segment-{export.segment_id}-export-{export.pk}.{export.format}"
    )


ERASED_WHILE_RUNNING = "An erasure ran while this export was written, so its file was not kept. Export again."
ERASED_FROM_FILE = "The file was deleted: it named a person who has since been erased. Export again."


def segment_exports_naming(ids: list[int], identities: list) -> list[SegmentExport]:
    """Exports whose file names any of these people, and those still being written (they may:
    their query ran before the erasure). Locked, so a build finishing meanwhile waits."""
    from core.filescan import file_mentions

    found = []
    for export in SegmentExport.objects.select_for_update().exclude(status=SegmentExport.Status.FAILED):
        if export.status != SegmentExport.Status.DONE or (
            (path := segment_export_path(export)) is not None and file_mentions(path, identities)
        ):
            found.append(export)
    return found


def segment_exports_withdraw(exports: list[SegmentExport], identities=None) -> None:
    """Inside the erasure: the exports no longer offer their file for download."""
    now = timezone.now()
    pks = [e.pk for e in exports]
    SegmentExport.objects.filter(pk__in=pks, status=SegmentExport.Status.DONE).update(
        file="", error=ERASED_FROM_FILE
    )
    SegmentExport.objects.filter(pk__in=pks).exclude(status=SegmentExport.Status.DONE).update(
        status=SegmentExport.Status.FAILED, error=ERASED_WHILE_RUNNING, finished_at=now
    )


def segment_export_files_delete(exports: list[SegmentExport], identities=None) -> int:
    """After the erasure committed: the files go. An export is a copy a marketer makes again in a
    minute, and one naming an erased person is out of date by definition, so it is deleted whole
    rather than rewritten."""
    count = 0
    for export in exports:
        path = segment_export_file(export)
        if path.is_file():
            path.unlink()
            count += 1
    return count


def _sheet_title(name: str) -> str:
    """Excel refuses sheet titles with []:*?/\\ in them, or longer than 31 characters."""
    return re.sub(r"[\[\]:*?/\\]", " ", name)[:31].strip() or "Members"


def _csv_safe(value):
    """OWASP CSV injection: text that a spreadsheet could run as a formula gets a leading quote."""
    value = plain_value(value)
    if isinstance(value, str) and FORMULA_START.match(value):
        return "'" + value
    return value


def segment_export_path(export: SegmentExport) -> Path | None:
    if export.status != SegmentExport.Status.DONE or not export.file:
        return None
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / export.file).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None
