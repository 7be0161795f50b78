"""The request clock: every deadline of a data-subject request, from its law (dsr.jurisdictions).

`request_clock` is the one function the services, the queue, the reminders, the dashboard and the
compliance report read dates from; `deadline_before` / `deadline_between` are the same deadline as
SQL conditions for the queries that select requests by it.

Periods are counted in whole days in the project's time zone and end at the end of their last day
(Regulation 1182/71 Art. 3, the rule EU time limits follow): a request received on 31 January is due
by the end of 28 February (29 in a leap year), one month later with the month's end clamped. Under
the GDPR and UK GDPR a last day that is a Saturday, Sunday or public holiday moves to the next
working day (Art. 3(4)): received on 31 January 2026, due Monday 2 March.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from dsr.jurisdictions import Law, Period, law_holidays, law_of

# The deadline of a request as a query expression: the extension when there is one, else the due date.
DEADLINE = Coalesce("extended_until", "due_at")


@dataclass(frozen=True)
class Clock:
    law: Law
    acknowledge_by: datetime | None  # None: the law sets no separate acknowledgement
    due_at: datetime  # the answer deadline (before any extension)
    extension_announce_by: datetime | None  # None: the law allows no extension
    extension_latest: datetime | None
    deadline: datetime  # the extension when there is one, else the due date

    def days_left(self, now: datetime | None = None) -> int:
        """Whole calendar days to the deadline (0: due today, negative: overdue)."""
        return (timezone.localdate(self.deadline) - timezone.localdate(now or timezone.now())).days

    def overdue(self, now: datetime | None = None) -> bool:
        return self.deadline < (now or timezone.now())


def request_clock(request, *, recompute: bool = False) -> Clock:
    """Every deadline of one request under its jurisdiction's law.

    The stored due date is kept (requests from before their law's rules keep theirs) unless
    `recompute`, which the services use when the request is opened, verified or moved to another
    jurisdiction. Sources: GDPR Art. 12(3), CCPA Regulations § 7021, LGPD Art. 19 (dsr.jurisdictions).
    """
    law = law_of(request.jurisdiction)
    received = request.received_at or timezone.now()
    due_at = request.due_at
    if recompute or due_at is None:
        due_at = answer_due(law, _clock_start(request, law, received))
    extension_latest = period_end(due_at, law.extension, law) if law.extension else None
    return Clock(
        law=law,
        acknowledge_by=period_end(received, law.acknowledge, law) if law.acknowledge else None,
        due_at=due_at,
        # GDPR Art. 12(3) "within one month of receipt", CCPA § 7021(b) "within the first 45 days":
        # an extension is announced before the answer was due.
        extension_announce_by=due_at if law.extension else None,
        extension_latest=extension_latest,
        deadline=request.extended_until or due_at,
    )


def clock_waits_for_identity(request) -> bool:
    """The clock counts from verification: the law lets it wait for the requester's identity and
    the organisation chose to (ComplianceSettings.request_clock_starts_at)."""
    from core.models import ComplianceSettings

    law = law_of(request.jurisdiction)
    return law.pauses_until_verified and ComplianceSettings.load().request_clock_starts_at == "verification"


def _clock_start(request, law: Law, received: datetime) -> datetime:
    if request.verified_at and law.pauses_until_verified and clock_waits_for_identity(request):
        return request.verified_at
    return received


def answer_due(law: Law, start: datetime) -> datetime:
    """The answer deadline of a request under `law` whose clock started at `start`."""
    return period_end(start, law.answer, law)


def period_end(start: datetime, period: Period, law: Law) -> datetime:
    """The end (23:59:59 local time) of the last day of a period that starts on `start`'s day."""
    day = timezone.localdate(start)
    if period.unit == "months":
        end = add_months(day, period.amount)
    elif period.unit == "days":
        end = day + timedelta(days=period.amount)
    else:
        end = add_business_days(day, period.amount, law)
    if law.last_day_rolls:
        end = working_day_from(end, law)
    return timezone.make_aware(datetime.combine(end, time(23, 59, 59)))


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day when it is shorter (31 Jan -> 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_business_days(day: date, count: int, law: Law) -> date:
    """`count` business days after `day` (not counting it): weekends and the law's public holidays skipped."""
    closed = _holidays(*law_holidays(law))
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            count -= 1
    return day


def working_day_from(day: date, law: Law) -> date:
    """`day`, or the first day after it that is neither a weekend day nor one of the law's public
    holidays (Regulation 1182/71 Art. 3(4))."""
    closed = _holidays(*law_holidays(law))
    while day.weekday() >= 5 or day in closed:
        day += timedelta(days=1)
    return day


@lru_cache(maxsize=16)
def _holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    # Years are filled in as dates are looked up (expand=True, the package's default).
    return holidays.country_holidays(country, subdiv=subdivision)


def deadline_before(moment: datetime) -> Q:
    """Requests whose deadline (extension, else due date) is before `moment`."""
    return Q(extended_until__isnull=True, due_at__lt=moment) | Q(extended_until__lt=moment)


def deadline_between(start: datetime, end: datetime) -> Q:
    return Q(extended_until__isnull=True, due_at__range=(start, end)) | Q(extended_until__range=(start, end))
