"""Writing events into the outbox, inside the caller's transaction (DESIGN.md, events to other
systems): the change and the news of it commit together or not at all, and no HTTP happens here,
so a dead endpoint never slows or blocks a write."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from core.bulk import bulk_insert
from webhooks.models import Delivery, Endpoint, Event
from webhooks.services import delivery_start


@dataclass(frozen=True)
class News:
    """One event to publish: its type, the person it is about, and what receivers get as `data`."""

    type: str
    contact_id: int | None
    data: dict
    # Orders a person's events; given apart from contact_id for an erased person, whose row is gone.
    subject: str = ""
    # Identifiers each receiver gets only as an HMAC under its own secret ({"email": normalised
    # address}): it can match them against its copy, nobody else can reverse them. Never stored.
    keyed: dict = field(default_factory=dict)


def subject_of(contact_id: int) -> str:
    return f"contact:{contact_id}"


def events_publish(news: list[News], *, at=None, endpoints: list[Endpoint] | None = None) -> list[Event]:
    """Write one event per item and a pending delivery to every receiving endpoint that wants it.

    Does nothing while no downstream system is registered (the outbox is for delivery, and a
    replay covers what was published since an endpoint existed). Call inside the change's
    transaction; delivery starts after it commits. `endpoints`: the active ones, if the caller
    read them already in this transaction (active_endpoints_sql).
    """
    if not news:
        return []
    if endpoints is None:
        # Paused endpoints keep receiving deliveries: they wait and go out when an officer resumes it.
        endpoints = list(Endpoint.objects.filter(active=True))
    if not endpoints:
        return []
    when = at or timezone.now()
    events = [
        Event(
            uid=f"evt_{secrets.token_hex(16)}",
            type=item.type,
            contact_id=item.contact_id,
            subject=item.subject or (subject_of(item.contact_id) if item.contact_id else ""),
            payload={"type": item.type, "timestamp": when.isoformat(), "data": item.data},
            created_at=when,
        )
        for item in news
    ]
    bulk_insert(Event, events)
    deliveries = [
        Delivery(
            event=event,
            endpoint=endpoint,
            subject=event.subject,
            next_attempt_at=when,
            data_extra=keyed_for(endpoint, item.keyed),
        )
        for item, event in zip(news, events, strict=True)
        for endpoint in endpoints
        if event.type in endpoint.event_types
    ]
    bulk_insert(Delivery, deliveries)
    if deliveries:
        delivery_start()
    return events


def active_endpoints_sql() -> str:
    """The statement events_publish reads its receivers with, for a caller that reads them along
    with other reads (SELECT * of the active endpoints, in the model's order)."""
    quote = connection.ops.quote_name
    return f"SELECT * FROM {quote(Endpoint._meta.db_table)} WHERE active ORDER BY name"  # noqa: S608


def event_publish(*, type: str, contact_id: int | None, data: dict, subject: str = "") -> Event | None:
    """events_publish for one event."""
    published = events_publish([News(type, contact_id, data, subject=subject)])
    return published[0] if published else None


def keyed_for(endpoint: Endpoint, identifiers: dict) -> dict:
    """{"email_hmac": hex HMAC-SHA256 of the normalised address, ...}, keyed with the secret's bytes
    (base64 after whsec_, the same key that signs the receiver's webhooks)."""
    key = base64.b64decode(endpoint.secret.removeprefix("whsec_"))
    return {
        f"{kind}_hmac": hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
        for kind, value in identifiers.items()
        if value
    }
