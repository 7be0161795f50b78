"""Posting outbox events to endpoints: signed (Standard Webhooks), in order per person and
endpoint, at least once, retried with backoff, every attempt recorded.

A batch is claimed in a short transaction that leases each delivery (next_attempt_at moves past
the HTTP timeout), then posted outside any transaction. A worker that dies mid-post leaves the
lease to expire and the delivery is posted again with the same webhook-id: receivers de-duplicate.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from webhooks.alerts import endpoint_paused_alert
from webhooks.models import Attempt, Delivery, Endpoint

TIMEOUT_SECONDS = 10
LEASE = timedelta(seconds=60)  # longer than one POST can take
MAX_BACKOFF = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... doubling to at most an hour between tries."""
    return min(timedelta(seconds=5 * 2 ** min(attempts - 1, 20)), MAX_BACKOFF)


def deliveries_run(*, limit: int = 100, rounds: int = 50) -> int:
    """Post every due delivery, round after round (a person's next event becomes due once the one
    before it is delivered). Returns how many were delivered."""
    delivered = 0
    for _ in range(rounds):
        batch = deliveries_claim(limit)
        if not batch:
            break
        delivered += sum(_post(delivery) for delivery in batch)
    return delivered


def deliveries_claim(limit: int) -> list[Delivery]:
    now = timezone.now()
    earlier_waiting = Delivery.objects.filter(
        endpoint=OuterRef("endpoint"),
        subject=OuterRef("subject"),
        status=Delivery.Status.PENDING,
        event_id__lt=OuterRef("event_id"),
    ).exclude(subject="")
    with transaction.atomic():
        due = (
            Delivery.objects.filter(
                status=Delivery.Status.PENDING,
                next_attempt_at__lte=now,
                endpoint__active=True,
                endpoint__paused_at=None,
            )
            .exclude(Exists(earlier_waiting))
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("event_id")[:limit]
        )
        claimed = list(due.select_related("event", "endpoint"))
        Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(next_attempt_at=now + LEASE)
    return claimed


def signed_request(delivery: Delivery, *, now: datetime) -> urllib.request.Request:
    """The POST for one delivery: the exact bytes signed are the bytes sent."""
    payload = delivery.event.payload
    if delivery.data_extra:
        payload = {**payload, "data": {**payload["data"], **delivery.data_extra}}
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    signature = Webhook(delivery.endpoint.secret).sign(msg_id=delivery.event.uid, timestamp=now, data=body)
    headers = {
        "content-type": "application/json",
        "user-agent": "ConsentOffice-Webhooks/1",
        "webhook-id": delivery.event.uid,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    url = delivery.endpoint.url
    if not url.lower().startswith(("https://", "http://")):  # never file: or a custom opener's scheme
        raise ValueError("only http and https addresses are posted to")
    return urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an acknowledgement: the event is not sent on elsewhere."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(delivery: Delivery) -> bool:
    started = time.monotonic()
    status, error = None, ""
    try:
        with _opener.open(signed_request(delivery, now=timezone.now()), timeout=TIMEOUT_SECONDS) as answer:
            status = answer.status
            answer.read(1024)
    except urllib.error.HTTPError as refusal:
        status = refusal.code
        error = f"HTTP {refusal.code}"
    except (OSError, ValueError) as failure:  # URLError, timeouts, refused connections, bad URLs
        error = f"{type(failure).__name__}: {getattr(failure, 'reason', failure)}"[:300]
    latency = int((time.monotonic() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    _record(delivery, ok=ok, status=status, error=error, latency=latency)
    return ok


def _record(delivery: Delivery, *, ok: bool, status, error: str, latency: int) -> None:
    now = timezone.now()
    with transaction.atomic():
        Attempt.objects.create(delivery=delivery, at=now, status_code=status, latency_ms=latency, error=error)
        attempts = delivery.attempts + 1
        if ok:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.DELIVERED,
                attempts=attempts,
                delivered_at=now,
                last_status_code=status,
                last_error="",
            )
            Endpoint.objects.filter(pk=delivery.endpoint_id).update(failing_since=None)
            return
        Delivery.objects.filter(pk=delivery.pk).update(
            attempts=attempts,
            next_attempt_at=now + backoff(attempts),
            last_status_code=status,
            last_error=error,
        )
        _note_failure(delivery.endpoint_id, now=now)


def _note_failure(endpoint_id: int, *, now: datetime) -> None:
    """Start or extend the endpoint's run of failures; pause it once the run passes the limit."""
    # Locked: two workers failing at once must pause (and alert) once.
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since"])
        return
    if endpoint.paused_at is None and now - endpoint.failing_since >= settings.WEBHOOK_PAUSE_AFTER:
        endpoint.paused_at = now
        endpoint.pause_reason = f"Every delivery failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC."
        endpoint.save(update_fields=["paused_at", "pause_reason"])
        transaction.on_commit(lambda: endpoint_paused_alert(endpoint_id))
