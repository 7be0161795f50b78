"""Imports on a real Celery worker (a subprocess on the configured broker and the test database):
a worker killed with SIGKILL mid-run leaves a run that the stalled-run job resumes, and the result
equals an uninterrupted import: every row applied exactly once."""

import datetime as dt
import signal

import pytest
from django.core.files.base import ContentFile
from django_celery_beat.models import PeriodicTask

from consent.models import ConsentChange, PurposeConsent
from contacts.models import Contact
from imports.models import ImportedConsent, ImportRun
from imports.services import import_run_start, import_runs_resume_stalled
from tests.conftest import wait_for
from tests.imports.conftest import csv_bytes

ROWS = 400


@pytest.mark.django_db
def test_the_refresh_and_the_stalled_run_jobs_are_scheduled():
    tasks = {
        t.task: t for t in PeriodicTask.objects.select_related("crontab", "interval").filter(enabled=True)
    }
    refresh = tasks["imports.refresh_sources"]
    assert refresh.crontab is not None and refresh.crontab.hour.isdigit()  # once a night
    assert tasks["imports.resume_stalled"].interval is not None


@pytest.mark.worker
def test_a_worker_killed_mid_import_is_resumed_and_applies_every_row_once(
    celery_worker, source, logging_on, settings
):
    celery_worker.env.update(MEDIA_ROOT=str(settings.MEDIA_ROOT), IMPORT_CHUNK_ROWS="5")
    rows = [
        [str(n), f"p{n}@contoso.com", "Newsletter", "yes" if n % 3 else "no", "2026-03-01"]
        for n in range(ROWS)
    ]
    celery_worker.start()
    run = import_run_start(
        source=source, file=ContentFile(csv_bytes(rows)), file_name="big.csv"
    )  # on_commit: autocommit

    def progressed():
        run.refresh_from_db()
        return run.status == ImportRun.Status.RUNNING and run.next_row >= 20

    wait_for(progressed, seconds=60, message="the import to be under way")
    celery_worker.process.send_signal(signal.SIGKILL)
    celery_worker.process.wait(timeout=10)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.RUNNING and 0 < run.next_row < ROWS, run.next_row
    committed = run.next_row
    assert ConsentChange.objects.count() == committed  # the chunk in flight left nothing behind

    celery_worker.start()
    # What the beat's "resume stalled" job does once the heartbeat is old enough.
    assert (
        import_runs_resume_stalled(
            now=run.heartbeat_at + dt.timedelta(minutes=settings.IMPORT_STALL_MINUTES + 1)
        )
        == 1
    )

    def finished():
        run.refresh_from_db()
        return run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED)

    wait_for(finished, seconds=120, message="the resumed import to finish")
    assert run.status == ImportRun.Status.DONE, run.error
    assert (run.next_row, run.applied_rows, run.refused_rows, run.attempts) == (ROWS, ROWS, 0, 2)
    assert Contact.objects.count() == ROWS == ImportedConsent.objects.count()
    assert ConsentChange.objects.count() == ROWS  # one record per row: none applied twice
    granted = dict(PurposeConsent.objects.values_list("contact__email", "granted"))
    assert granted == {f"p{n}@contoso.com": bool(n % 3) for n in range(ROWS)}


@pytest.mark.worker
@pytest.mark.postgres
def test_an_import_that_loses_its_database_connection_is_retried_and_applies_every_row_once(
    celery_worker, cut_worker_connection, source, logging_on, settings
):
    """The worker's database connection is cut for real in the middle of a chunk; the chunk in
    flight is rolled back whole, the task is retried and continues after the last committed
    chunk: the result equals an uninterrupted import, every row applied once."""
    rows_total = 200
    celery_worker.env.update(MEDIA_ROOT=str(settings.MEDIA_ROOT), IMPORT_CHUNK_ROWS="5")
    rows = [
        [str(n), f"p{n}@contoso.com", "Newsletter", "yes" if n % 3 else "no", "2026-03-01"]
        for n in range(rows_total)
    ]
    celery_worker.start()
    run = import_run_start(source=source, file=ContentFile(csv_bytes(rows)), file_name="big.csv")
    wait_for(
        lambda: ImportRun.objects.filter(pk=run.pk, next_row__gte=20).exists(),
        seconds=60,
        message="the import to be under way",
    )
    cut_worker_connection("imports_importedconsent")  # written by every chunk, after its contacts

    def finished():
        run.refresh_from_db()
        return run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED)

    wait_for(finished, seconds=90, message="the retried import to finish")
    assert run.status == ImportRun.Status.DONE, run.error
    assert (run.next_row, run.applied_rows, run.refused_rows, run.attempts) == (rows_total, rows_total, 0, 2)
    assert Contact.objects.count() == rows_total == ImportedConsent.objects.count()
    assert ConsentChange.objects.count() == rows_total  # the cut chunk left nothing, none applied twice
    granted = dict(PurposeConsent.objects.values_list("contact__email", "granted"))
    assert granted == {f"p{n}@contoso.com": bool(n % 3) for n in range(rows_total)}
