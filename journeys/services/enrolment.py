"""Enrolment: who enters a live journey (one INSERT ... SELECT over the eligible audience), and the
beat job that enrols and advances every due enrolment (journeys.services.advance).
"""

from __future__ import annotations

import logging
import smtplib
from collections import Counter

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from core.batches import ids_in_batches
from core.history import history_after_update
from core.mail_handover import MailSession
from journeys.models import Enrolment, Journey
from journeys.selectors import journey_audience
from journeys.services.advance import NO_PROGRESS, AdvanceOutcome, enrolment_advance

logger = logging.getLogger(__name__)

# Passes over the due enrolments per run: each pass takes every due one a step further.
MAX_PASSES = 50


def journey_enrol(*, journey: Journey, now=None) -> int:
    """Enrol the journey's eligible audience not yet enrolled, as one INSERT ... SELECT.

    The audience is journeys.selectors.journey_audience (eligible_contacts over the segment); the
    unique (journey, contact) constraint and ON CONFLICT DO NOTHING skip everyone enrolled before
    and keep two runs at once from enrolling anyone twice: nobody is ever re-enrolled. Returns how
    many were enrolled.
    """
    now = now or timezone.now()
    if journey.status != Journey.Status.LIVE or (journey.enrol_until and journey.enrol_until <= now):
        return 0
    # No NOT EXISTS over the enrolments: the statement would read the table it fills, and a plan
    # made while it was empty scans it whole for every contact, its own new rows included
    # (quadratic: it ran for over 20 minutes at 10M). The unique constraint skips those enrolled.
    audience = journey_audience(journey).order_by().values(audience_id=F("pk"))
    select_sql, params = audience.query.sql_with_params()
    qn = connection.ops.quote_name
    # "WHERE 1 = 1": SQLite would read ON CONFLICT as a join's ON without a WHERE before it.
    # Only quoted identifiers and the ORM's own compiled SQL go into the text; values are parameters.
    columns = ", ".join(qn(c) for c in ("journey_id", "contact_id", "due_at"))
    sql = (
        f"INSERT INTO {qn(Enrolment._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT %s, audience.{qn('audience_id')}, %s FROM ({select_sql}) audience "
        "WHERE 1 = 1 ON CONFLICT DO NOTHING"
    )
    # The first step is due at the run's `now` (not the database clock), so the run that enrols
    # also takes the first step.
    due = connection.ops.adapt_datetimefield_value(now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [journey.pk, due, *params])
        return max(cursor.rowcount, 0)


def journeys_run(*, now=None, batch: int = 500) -> dict:
    """Enrol every live journey's new audience, then advance every due enrolment until nothing
    more is due; complete journeys whose enrolment window closed and emptied. All in this process
    (the beat task shares the work out instead: journeys_dispatch, enrolments_advance).

    Safe to run twice at once or again after a crash (see enrolment_advance).
    """
    now = now or timezone.now()
    counts: Counter = Counter()
    for journey in Journey.objects.filter(status=Journey.Status.LIVE):
        counts["enrolled"] += journey_enrol(journey=journey, now=now)
    with MailSession() as mail:
        for _pass in range(MAX_PASSES):
            progressed = 0
            for ids in _due_batches(now=now, batch=batch):
                progressed += _advance_once(ids, now=now, mail=mail, counts=counts)
            if not progressed:
                break
    counts["journeys completed"] = journeys_complete(now=now)
    return dict(counts)


def journeys_dispatch(*, now=None, batch: int | None = None) -> list[list[int]]:
    """The beat job's first half: enrol every live journey's new audience, complete journeys whose
    window closed and emptied, and return the due enrolments in batches, for the workers to share
    (each batch one journeys.advance_enrolments task: enrolments_advance), JOURNEY_BATCH_SIZE each."""
    now = now or timezone.now()
    batch = batch or settings.JOURNEY_BATCH_SIZE
    for journey in Journey.objects.filter(status=Journey.Status.LIVE):
        journey_enrol(journey=journey, now=now)
    journeys_complete(now=now)
    return list(_due_batches(now=now, batch=batch))


def enrolments_advance(*, ids: list[int], now=None) -> dict:
    """Advance these enrolments until none of them moves any more (a batch of journeys_dispatch),
    on one connection to the mail server. Safe to run twice at once, on several workers, or again
    after a crash (see enrolment_advance): a redelivered batch sends nothing twice."""
    now = now or timezone.now()
    counts: Counter = Counter()
    with MailSession() as mail:
        for _pass in range(MAX_PASSES):
            due = list(
                Enrolment.objects.filter(
                    pk__in=ids,
                    status=Enrolment.Status.ACTIVE,
                    due_at__lte=now,
                    journey__status=Journey.Status.LIVE,
                )
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if not due or not _advance_once(due, now=now, mail=mail, counts=counts):
                break
    return dict(counts)


def _due_batches(*, now, batch: int):
    due = Enrolment.objects.filter(
        status=Enrolment.Status.ACTIVE, due_at__lte=now, journey__status=Journey.Status.LIVE
    )
    return ids_in_batches(due, size=batch)


def _advance_once(ids: list[int], *, now, mail: MailSession, counts: Counter) -> int:
    """Take each of these enrolments one step further; how many moved."""
    progressed = 0
    for enrolment_id in ids:
        try:
            outcome = enrolment_advance(enrolment_id=enrolment_id, now=now, mail=mail)
        except (smtplib.SMTPException, OSError):
            logger.exception("journey email failed", extra={"enrolment": enrolment_id})
            outcome = AdvanceOutcome.FAILED
        counts[outcome.value] += 1
        progressed += outcome not in NO_PROGRESS
    return progressed


def journeys_complete(*, now=None) -> int:
    """Live journeys past their enrolment window with nobody left in them become completed."""
    now = now or timezone.now()
    active = Enrolment.objects.filter(journey=OuterRef("pk"), status=Enrolment.Status.ACTIVE)
    due = Journey.objects.filter(status=Journey.Status.LIVE, enrol_until__lte=now).filter(~Exists(active))
    ids = list(due.values_list("pk", flat=True))
    if not ids:
        return 0
    with transaction.atomic():
        done = due.filter(pk__in=ids).update(status=Journey.Status.COMPLETED)
        # update() writes no history: the journey's page still says when and why it completed.
        history_after_update(
            Journey.objects.filter(pk__in=ids, status=Journey.Status.COMPLETED),
            family="journeys",
            reason="completed: enrolment window over, nobody left in it",
        )
    return done
