"""Request figures for the compliance dashboard; each is one aggregate query."""

from __future__ import annotations

import statistics
from datetime import timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from dsr.clocks import deadline_before, deadline_between
from dsr.models import DataSubjectRequest, ErasureRecord

Status = DataSubjectRequest.Status


def queue_now() -> dict:
    """Open requests, those due within 7 days, and those overdue (deadline = extension or due date)."""
    now, soon = timezone.now(), timezone.now() + timedelta(days=7)
    overdue, due_soon = deadline_before(now), deadline_between(now, soon)
    return DataSubjectRequest.objects.filter(status__in=DataSubjectRequest.OPEN).aggregate(
        open=Count("id"), due_this_week=Count("id", filter=due_soon), overdue=Count("id", filter=overdue)
    )


def days_to_complete_by_type() -> list[dict]:
    """Median days from receipt to completion per request type (completed requests)."""
    durations: dict[str, list[float]] = {}
    rows = DataSubjectRequest.objects.filter(status=Status.COMPLETED, closed_at__isnull=False).values_list(
        "kind", "received_at", "closed_at"
    )
    for kind, received, closed in rows.iterator():
        durations.setdefault(kind, []).append((closed - received).total_seconds() / 86400)
    labels = dict(DataSubjectRequest.Kind.choices)
    return [
        {"type": labels[kind], "completed": len(days), "median_days": round(statistics.median(days), 1)}
        for kind, days in sorted(durations.items())
    ]


def erasures_and_restrictions_by_month(*, months: int = 12) -> list[dict]:
    since = timezone.now() - timedelta(days=31 * months)
    erased = dict(
        ErasureRecord.objects.filter(performed_at__gte=since)
        .annotate(month=TruncMonth("performed_at"))
        .values_list("month")
        .annotate(n=Sum("contacts_erased"))
        .order_by()
    )
    restricted = dict(
        DataSubjectRequest.objects.filter(
            kind=DataSubjectRequest.Kind.RESTRICT, status=Status.COMPLETED, closed_at__gte=since
        )
        .annotate(month=TruncMonth("closed_at"))
        .values_list("month")
        .annotate(n=Count("id"))
        .order_by()
    )
    months_seen = sorted(set(erased) | set(restricted))
    return [
        {"month": m.strftime("%Y-%m"), "erased": erased.get(m, 0), "restricted": restricted.get(m, 0)}
        for m in months_seen
    ]
