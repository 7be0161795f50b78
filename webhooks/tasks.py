from celery import shared_task

from webhooks.delivery import deliveries_run


@shared_task(name="webhooks.deliver_due")
def deliver_due() -> int:
    """Post every due delivery. Started after each commit that publishes events, and every minute
    for retries; safe to run twice at once (deliveries are leased)."""
    return deliveries_run()
