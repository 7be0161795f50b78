"""What the back office shows of downstream systems: which system confirmed what, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Q

from webhooks.models import Delivery


@dataclass(frozen=True)
class Acknowledgement:
    endpoint_id: int
    endpoint: str
    delivered: int
    waiting: int
    last_delivered_at: datetime | None
    paused: bool

    @property
    def confirmed(self) -> bool:
        return self.waiting == 0


# A delivery counts as acknowledged on a 2xx, or for a system that confirms by callback, on its callback.
ACKNOWLEDGED = Q(endpoint__confirms=False, status=Delivery.Status.DELIVERED) | Q(confirmed_at__isnull=False)


def acknowledgements(*, subjects: list[str], types: list[str] | None = None) -> list[Acknowledgement]:
    """Per downstream system, how many events about these subjects (contact:<id>, request:<ref>),
    of these types if given, it acknowledged and how many still wait, in one query."""
    deliveries = Delivery.objects.filter(subject__in=subjects)
    if types is not None:
        deliveries = deliveries.filter(event__type__in=types)
    rows = (
        deliveries.values("endpoint_id", "endpoint__name", "endpoint__paused_at")
        .annotate(
            delivered=Count("id", filter=ACKNOWLEDGED),
            waiting=Count("id", filter=~ACKNOWLEDGED),
            last=Max("delivered_at"),
        )
        .order_by("endpoint__name")
    )
    return [
        Acknowledgement(
            r["endpoint_id"],
            r["endpoint__name"],
            r["delivered"],
            r["waiting"],
            r["last"],
            r["endpoint__paused_at"] is not None,
        )
        for r in rows
    ]
