"""A downstream system's signed word that it acted on an event (GDPR Art. 17(2), 19): it deleted,
restricted or corrected its copy."""

from __future__ import annotations

import json
import re

from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks.models import Delivery, Endpoint

OUTCOMES = ("deleted", "restricted", "corrected")
EVENT_ID = re.compile(r"evt_[0-9a-f]{32}")  # as webhooks.outbox makes them; anything else is not ours


class Refused(Exception):
    """The callback changes nothing; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def confirmation_record(*, endpoint_id: int, body: bytes, headers: dict) -> Delivery:
    """Verify the callback with the endpoint's own secret (Standard Webhooks, 5-minute tolerance)
    and mark its delivery confirmed. Idempotent: a repeated callback keeps the first time."""
    endpoint = Endpoint.objects.filter(pk=endpoint_id, confirms=True).first()
    if endpoint is None:
        raise Refused(401, "unknown endpoint or signature")
    try:
        Webhook(endpoint.secret).verify(body, headers, json_parse=False)
    except (WebhookVerificationError, ValueError, UnicodeDecodeError):
        # One answer for an unknown endpoint and a bad signature: nothing to learn by probing.
        raise Refused(401, "unknown endpoint or signature") from None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # signed, but not JSON we can read (e.g. nested too deep)
        data = None
    event = data.get("event") if isinstance(data, dict) else None
    if not isinstance(event, str) or not EVENT_ID.fullmatch(event) or data.get("outcome") not in OUTCOMES:
        raise Refused(400, 'send {"event": "evt_...", "outcome": "deleted" | "restricted" | "corrected"}')
    delivery = Delivery.objects.filter(endpoint=endpoint, event__uid=event).first()
    if delivery is None or delivery.status != Delivery.Status.DELIVERED:
        raise Refused(404, "no delivered event with this id for this endpoint")
    Delivery.objects.filter(pk=delivery.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now(), confirmation=data["outcome"]
    )
    return delivery
