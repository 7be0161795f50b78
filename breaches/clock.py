"""The 72-hour clock of GDPR Art. 33(1), from discovery to the authority's notification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from breaches.models import Breach

# The officers' first reminder: a day before the deadline (48 hours after discovery).
SOON = timedelta(hours=24)


@dataclass(frozen=True)
class Clock:
    state: str  # "not_required", "running", "due_soon", "overdue", "on_time", "late"
    due_at: datetime
    text: str

    @property
    def alarming(self) -> bool:
        return self.state in ("due_soon", "overdue", "late")


def _hours(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def breach_clock(breach: Breach, *, now: datetime | None = None) -> Clock:
    """Where the breach stands against its 72 hours, in words for the register."""
    now = now or timezone.now()
    due = breach.authority_due_at
    notified = breach.authority_notified_at
    if notified is not None:
        taken = notified - breach.discovered_at
        if notified <= due:
            return Clock("on_time", due, f"Notified after {_hours(taken)} (on time)")
        return Clock("late", due, f"Notified after {_hours(taken)}: {_hours(notified - due)} late")
    if breach.risk == Breach.Risk.UNLIKELY:
        return Clock("not_required", due, "No notification: unlikely to result in a risk")
    if now > due:
        return Clock("overdue", due, f"OVERDUE by {_hours(now - due)}")
    state = "due_soon" if due - now <= SOON else "running"
    return Clock(state, due, f"{_hours(due - now)} left")
