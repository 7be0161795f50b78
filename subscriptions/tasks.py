from celery import shared_task

from subscriptions.services import expired_links_purge, unconfirmed_signups_purge


@shared_task(name="subscriptions.purge_unconfirmed")
def purge_unconfirmed() -> dict:
    """Hourly: forget sign-ups nobody confirmed, and links that expired. Idempotent."""
    return {"contacts": unconfirmed_signups_purge(), "links": expired_links_purge()}
