"""Figures for the compliance dashboard. Each is one or a few aggregate queries; nothing loops over contacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.utils import timezone

from consent.models import ConsentLevelSnapshot, Purpose
from contacts.models import Contact
from core.levels import ConsentLevel, level_choices


@dataclass
class Bar:
    label: str
    value: int
    share: float  # of the largest value in its chart, 0..1, for drawing

    @property
    def width(self) -> float:
        return round(self.share * 100, 1)


def _bars(pairs: list[tuple[str, int]]) -> list[Bar]:
    top = max((value for _, value in pairs), default=0) or 1
    return [Bar(label, value, value / top) for label, value in pairs]


def level_distribution() -> list[Bar]:
    counts = dict(Contact.objects.values_list("consent_given").annotate(n=Count("id")).order_by())
    return _bars([(label, counts.get(value, 0)) for value, label in level_choices()])


def level_trend(*, months: int = 12) -> list[dict]:
    """Per month, the last nightly snapshot in it: contacts per level (from ConsentLevelSnapshot)."""
    since = timezone.localdate().replace(day=1) - timedelta(days=31 * (months - 1))
    last_days = (
        ConsentLevelSnapshot.objects.filter(date__gte=since)
        .values("date__year", "date__month")
        .annotate(last=Max("date"))
        .values_list("last", flat=True)
    )
    rows: dict = {}
    for snapshot in ConsentLevelSnapshot.objects.filter(date__in=list(last_days)).order_by("date", "level"):
        rows.setdefault(snapshot.date, {})[snapshot.level] = snapshot.contacts
    return [
        {"month": day.strftime("%Y-%m"), "levels": [counts.get(lv.value, 0) for lv in ConsentLevel]}
        for day, counts in rows.items()
    ]


def purpose_rates() -> list[dict]:
    rows = Purpose.objects.annotate(
        yes=Count("consents", filter=Q(consents__granted=True)),
        answered=Count("consents"),
    ).values("name", "yes", "answered")
    return [
        {**row, "rate": round(row["yes"] * 100 / row["answered"]) if row["answered"] else None}
        for row in rows
    ]


def double_opt_in() -> dict:
    """Requests confirmed, expired and pending, and the confirmation rate over every answer given.

    A request for lists is one answer per list: a list the person unticked when confirming is a
    "no" (declined), not a confirmation; one that expired is a "no" for each of its lists. A request
    without lists (a raise of level or purpose) is one answer.
    """
    from subscriptions.models import ConsentRequest

    now = timezone.now()
    confirmed, expired = (
        Q(confirmed_at__isnull=False),
        Q(confirmed_at__isnull=True, token__expires_at__lte=now),
    )
    totals = ConsentRequest.objects.aggregate(
        confirmed=Count("id", filter=confirmed),
        expired=Count("id", filter=expired),
        pending=Count("id", filter=Q(confirmed_at__isnull=True, token__expires_at__gt=now)),
    )
    requested = ConsentRequest.lists.through.objects
    without_lists = ConsentRequest.objects.filter(~Exists(requested.filter(consentrequest=OuterRef("pk"))))
    single = without_lists.aggregate(yes=Count("id", filter=confirmed), no=Count("id", filter=expired))
    declined = ConsentRequest.declined_lists.through.objects.filter(
        consentrequest=OuterRef("consentrequest"), subscriptionlist=OuterRef("subscriptionlist")
    )
    # The annotation's name must differ from every aggregate's: Django would read the aggregate.
    per_list = requested.annotate(unticked=Exists(declined)).aggregate(
        yes=Count("id", filter=Q(consentrequest__confirmed_at__isnull=False, unticked=False)),
        declined=Count("id", filter=Q(consentrequest__confirmed_at__isnull=False, unticked=True)),
        expired=Count(
            "id",
            filter=Q(consentrequest__confirmed_at__isnull=True, consentrequest__token__expires_at__lte=now),
        ),
    )
    yes = single["yes"] + per_list["yes"]
    answered = yes + single["no"] + per_list["declined"] + per_list["expired"]
    totals["declined_lists"] = per_list["declined"]
    totals["rate"] = round(yes * 100 / answered) if answered else None
    totals["median_minutes"] = _median_minutes_to_confirm(totals["confirmed"])
    return totals


def _median_minutes_to_confirm(confirmed: int) -> float | None:
    """Median time from request to confirmation: the middle row by duration (works on every database)."""
    from subscriptions.models import ConsentRequest

    if not confirmed:
        return None
    middle = (
        ConsentRequest.objects.filter(confirmed_at__isnull=False)
        .annotate(took=F("confirmed_at") - F("requested_at"))
        .order_by("took")
        .values_list("took", flat=True)[confirmed // 2]
    )
    return round(middle.total_seconds() / 60, 1)
