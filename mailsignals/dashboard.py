"""Bounce and complaint rates per list, for the compliance dashboard: large mailbox providers
refuse senders whose complaint rate passes 0.3 %."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from journeys.models import JourneyStep, StepRun
from mailsignals.models import MailSignal
from subscriptions.models import SubscriptionList

COMPLAINT_CEILING = 0.003
Kind = MailSignal.Kind


def rates_by_list(*, days: int = 30) -> list[dict]:
    """Per list with mail in the last `days`: emails sent by journeys, bounces and complaints the
    provider reported for it, and the complaint rate against the ceiling (three queries)."""
    since = timezone.now() - timedelta(days=days)
    sent = dict(
        StepRun.objects.filter(
            status=StepRun.Status.DONE,
            done_at__gte=since,
            step__kind=JourneyStep.Kind.EMAIL,
            enrolment__journey__subscription_list__isnull=False,
        )
        .values_list("enrolment__journey__subscription_list")
        .annotate(n=Count("id"))
    )
    signals = {
        row["subscription_list"]: row
        for row in MailSignal.objects.filter(received_at__gte=since, subscription_list__isnull=False)
        .values("subscription_list")
        .annotate(
            bounces=Count("id", filter=Q(kind__in=[Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE])),
            complaints=Count("id", filter=Q(kind=Kind.COMPLAINT)),
        )
    }
    rows = []
    for lst in SubscriptionList.objects.filter(pk__in=set(sent) | set(signals)).order_by("name"):
        n, found = sent.get(lst.pk, 0), signals.get(lst.pk, {})
        complaints, bounces = found.get("complaints", 0), found.get("bounces", 0)
        rate = complaints / n if n else None
        rows.append(
            {
                "name": lst.name,
                "sent": n,
                "bounces": bounces,
                "bounce_percent": _percent(bounces, n),
                "complaints": complaints,
                "complaint_percent": _percent(complaints, n),
                "over_ceiling": (rate or 0) > COMPLAINT_CEILING or (not n and complaints > 0),
            }
        )
    return rows


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f} %" if whole else "—"
