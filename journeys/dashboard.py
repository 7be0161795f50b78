"""Journey figures for the compliance dashboard; each is one aggregate query."""

from __future__ import annotations

from django.db.models import Count, Q

from journeys.models import Enrolment, Journey, StepRun


def journeys_live() -> list[dict]:
    """Live journeys with how many are in them, through, and out, and why they left."""
    rows = (
        Journey.objects.filter(status=Journey.Status.LIVE)
        .annotate(
            active=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.ACTIVE)),
            completed=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.COMPLETED)),
            exited=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.EXITED)),
        )
        .order_by("name")
        .values("name", "active", "completed", "exited")
    )
    return list(rows)


def exits_by_reason() -> list[dict]:
    """Exits from every journey by reason: consent withdrawn, restricted, unsubscribed, erased ..."""
    labels = dict(Enrolment.ExitReason.choices)
    rows = (
        Enrolment.objects.filter(status=Enrolment.Status.EXITED)
        .values_list("exit_reason")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    return [{"reason": str(labels.get(reason, reason)), "exits": n} for reason, n in rows]


def interrupted_sends() -> int:
    """Emails whose worker died between the hand-over mark and the end of the data: they may or
    may not have gone out and are never repeated, so an officer should know they exist."""
    return StepRun.objects.filter(status=StepRun.Status.UNCERTAIN).count()
