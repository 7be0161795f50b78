from celery import shared_task

from operations.health import HEARTBEAT_TASK


@shared_task(name=HEARTBEAT_TASK, ignore_result=True)
def beat_heartbeat() -> None:
    """Sent by beat every minute; beat records when, and the readiness check reads that. The
    worker has nothing to do with it (and discards it once a minute old: see the migration)."""
