from celery import shared_task

from consent.services import consent_level_snapshot_take


@shared_task(name="consent.snapshot_levels")
def snapshot_levels() -> int:
    """Nightly: count contacts per consent level for today. Idempotent, so a duplicate beat is harmless."""
    return consent_level_snapshot_take()


@shared_task(name="consent.audit_checkpoint")
def audit_checkpoint() -> int:
    """Daily: a signed checkpoint of the audit chain's length and head (consent.audit_chain),
    emailed to the officer's address when set. A duplicate beat writes a second checkpoint of the
    same head, which only repeats the first."""
    from consent.audit_chain import audit_checkpoint_send, audit_checkpoint_take

    checkpoint = audit_checkpoint_take()
    audit_checkpoint_send(checkpoint)
    return checkpoint.length
