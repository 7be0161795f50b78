from celery import shared_task

from consent.services import consent_level_snapshot_take


@shared_task(name="consent.snapshot_levels")
def snapshot_levels() -> int:
    """Nightly: count contacts per consent level for today. Idempotent, so a duplicate beat is harmless."""
    return consent_level_snapshot_take()


@shared_task(name="consent.audit_checkpoint")
def audit_checkpoint() -> int:
    """Daily: verify the audit chain (its outcome kept for monitoring), then write a signed
    checkpoint of its length and head (consent.audit_chain), emailed to the officer's address
    when set. The checkpoint is written even after a failed verification: it still anchors the
    head against a later truncation. A duplicate beat only repeats both."""
    from consent.audit_chain import audit_checkpoint_send, audit_checkpoint_take, verify_and_record

    verify_and_record()
    checkpoint = audit_checkpoint_take()
    audit_checkpoint_send(checkpoint)
    return checkpoint.length


@shared_task(name="consent.run_retention")
def run_retention() -> dict:
    """Nightly: lapse due consent, erase contacts with nothing left (consent.lapse). Idempotent and
    resumable: a duplicate beat finds the first run alive and stops; a rerun does only what is left."""
    from consent.lapse import RunInProgress, retention_run

    try:
        run = retention_run()
    except RunInProgress as busy:
        return {"skipped": str(busy)}
    return {"run": run.pk, "lapsed": run.lapsed, "erased": run.erased}
