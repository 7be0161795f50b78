from celery import shared_task

from staff.access_log import access_log_purge


@shared_task(name="staff.purge_access_log")
def purge_access_log() -> int:
    """Daily: drop access log entries past their retention period. Idempotent."""
    return access_log_purge()
