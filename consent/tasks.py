from celery import shared_task

from consent.services import consent_level_snapshot_take


@shared_task(name="consent.snapshot_levels")
def snapshot_levels() -> int:
    """Nightly: count contacts per consent level for today. Idempotent, so a duplicate beat is harmless."""
    return consent_level_snapshot_take()
