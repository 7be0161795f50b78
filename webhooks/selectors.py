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


def acknowledgements(*, subjects: list[str]) -> list[Acknowledgement]:
    """Per downstream system, how many events about these subjects (contact:<id>, request:<ref>)
    it acknowledged with a 2xx and how many still wait, in one query."""
    rows = (
        Delivery.objects.filter(subject__in=subjects)
        .values("endpoint_id", "endpoint__name", "endpoint__paused_at")
        .annotate(
            delivered=Count("id", filter=Q(status=Delivery.Status.DELIVERED)),
            waiting=Count("id", filter=Q(status=Delivery.Status.PENDING)),
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
