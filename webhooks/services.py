"""What officers do with downstream systems: resume a paused one, send events again."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from webhooks.models import Delivery, Endpoint


def delivery_start() -> None:
    """Post due deliveries once the current transaction commits (never inside it)."""
    from webhooks.tasks import deliver_due  # the task module imports the delivery code

    transaction.on_commit(deliver_due.delay, robust=True)


def endpoint_resume(*, endpoint: Endpoint) -> int:
    """Unpause an endpoint and post what waits for it now, oldest first. Returns deliveries waiting."""
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk).update(paused_at=None, pause_reason="", failing_since=None)
        waiting = Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
            next_attempt_at=timezone.now()
        )
        delivery_start()
    return waiting


def deliveries_replay(*, deliveries) -> int:
    """Send these deliveries again with their original webhook-id (receivers de-duplicate on it),
    in event order per person like any delivery. Returns how many were queued."""
    with transaction.atomic():
        queued = Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
            status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), delivered_at=None
        )
        delivery_start()
    return queued
