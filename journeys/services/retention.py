"""Retention purges (GDPR Art. 5(1)(e)): interactions and segment export files past the periods set
in the compliance settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from core.batches import delete_in_batches
from core.models import ComplianceSettings
from journeys.models import Interaction, SegmentExport
from journeys.services.segment_exports import segment_export_file


def interactions_purge(*, now=None) -> int:
    """Delete interactions older than the retention period in the compliance settings
    (GDPR Art. 5(1)(e)); lead scores recomputed afterwards no longer count them."""
    days = ComplianceSettings.load().interaction_retention_days
    # In batches: interactions are among the biggest tables, and one DELETE held all old rows.
    return delete_in_batches(
        Interaction.objects.filter(at__lt=(now or timezone.now()) - timedelta(days=days))
    )[0]


def segment_exports_purge(*, now=None) -> int:
    """Delete export files older than the retention period in the compliance settings (GDPR Art.
    5(1)(e)): the row stays as the record of who exported what and when."""
    days = ComplianceSettings.load().segment_export_retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    stale = list(
        SegmentExport.objects.filter(status=SegmentExport.Status.DONE, finished_at__lt=cutoff).exclude(
            file=""
        )
    )
    for export in stale:
        segment_export_file(export).unlink(missing_ok=True)
    SegmentExport.objects.filter(pk__in=[e.pk for e in stale]).update(
        file="", error=f"The file was deleted after {days} days (retention period)."
    )
    # Files no row offers any more (a build whose row was deleted or failed): gone after the period too.
    folder = Path(settings.MEDIA_ROOT) / "segment-exports"
    kept = set(SegmentExport.objects.exclude(file="").values_list("file", flat=True))
    orphans = 0
    if folder.is_dir():
        for path in folder.iterdir():
            relative = f"segment-exports/{path.name}"
            if relative not in kept and path.is_file() and path.stat().st_mtime < cutoff.timestamp():
                path.unlink()
                orphans += 1
    return len(stale) + orphans
