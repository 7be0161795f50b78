"""Bulk rectification uploads as files holding personal data: found for an erasure, deleted, purged.

A workbook to correct names every selected contact. A finished run deletes it at once
(imports.rectification); an erasure deletes any upload naming the person (a rectification
that has not finished then fails and says why: the officer exports and uploads again without the
erased person); the rest go after the import upload retention period in the compliance settings.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from imports.files import stored_upload, uploads_naming
from imports.models import Rectification


def rectification_uploads_naming(ids: list[int], identities: list) -> list[Rectification]:
    """Rectifications whose stored upload names any of these people."""
    return uploads_naming(Rectification.objects.all(), identities)


def _drop_file(run: Rectification, message: str) -> None:
    if run.file:
        run.file.storage.delete(run.file.name)
    Rectification.objects.filter(pk=run.pk).exclude(status=Rectification.Status.DONE).update(
        status=Rectification.Status.FAILED, error=message, finished_at=timezone.now()
    )
    Rectification.objects.filter(pk=run.pk).update(file="")


def rectification_uploads_erase(runs: list[Rectification], identities: list) -> int:
    """After the erasure committed: delete each upload naming the person."""
    for run in runs:
        _drop_file(run, _("The stored file was deleted by an erasure; export the contacts again."))
    return len(runs)


def rectification_uploads_purge(*, now=None) -> int:
    """Delete uploads older than the retention period whose run is not running (GDPR Art. 5(1)(e)),
    and files in the upload folder that no run names (an upload whose transaction rolled back)."""
    from core.models import ComplianceSettings

    days = ComplianceSettings.load().import_upload_retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    count = 0
    stale = (
        Rectification.objects.exclude(file="")
        .filter(created_at__lt=cutoff)
        .exclude(status=Rectification.Status.RUNNING)
    )
    for run in stale:
        count += stored_upload(run) is not None
        _drop_file(
            run, _("The uploaded file was deleted after %(days)s days (retention period).") % {"days": days}
        )
    root = Path(settings.MEDIA_ROOT) / "rectifications"
    if root.is_dir():
        named = {
            str(Path(settings.MEDIA_ROOT) / name)
            for name in Rectification.objects.exclude(file="").values_list("file", flat=True)
        }
        for path in root.rglob("*"):
            if path.is_file() and str(path) not in named and path.stat().st_mtime < cutoff.timestamp():
                path.unlink()
                count += 1
    return count
