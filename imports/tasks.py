from celery import shared_task

from core.connection_loss import RETRY_ON_CONNECTION_LOSS
from imports.files import import_uploads_purge
from imports.rectification import rectification_process, rectifications_resume_stalled
from imports.rectification_files import rectification_uploads_purge
from imports.services import import_run_process, import_runs_resume_stalled, import_sources_refresh


@shared_task(name="imports.run_import", **RETRY_ON_CONNECTION_LOSS)
def run_import(run_id: int) -> str:
    """Run or continue one import. Idempotent: a redelivery or a retry after a lost database
    connection continues after the last committed chunk; a run whose message was lost (e.g. one
    queued under this task's old name, imports.run) is queued again by resume_stalled."""
    return import_run_process(run_id=run_id).status


@shared_task(name="imports.refresh_sources")
def refresh_sources() -> int:
    """Nightly: re-import each refreshing source whose file changed. Idempotent (unchanged files start nothing)."""
    return len(import_sources_refresh())


@shared_task(name="imports.resume_stalled")
def resume_stalled() -> int:
    """Every few minutes: queue again the runs (imports and bulk rectifications) whose worker died."""
    return import_runs_resume_stalled() + rectifications_resume_stalled()


@shared_task(name="imports.purge_uploads")
def purge_uploads() -> int:
    """Daily: delete uploads of runs that failed or never finished, past their retention period."""
    return import_uploads_purge() + rectification_uploads_purge()


@shared_task(name="imports.run_rectification", **RETRY_ON_CONNECTION_LOSS)
def run_rectification(rectification_id: int) -> str:
    """Run or continue one bulk rectification. Idempotent: a redelivery continues after the last
    committed chunk, and a finished or failed run is left as it is."""
    return rectification_process(run_id=rectification_id).status
