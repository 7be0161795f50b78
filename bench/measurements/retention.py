"""The nightly retention job (consent.lapse) over every contact, one in ten of them due to lapse,
beside a hand-written set-based UPDATE of the same rows."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from bench.measurements.common import Result, raw_rows, timed_from
from consent.models import Purpose, RetentionClock
from core.bulk import dialect

SLUG = "bench-retention"
VALID_MONTHS = 24


def _answers(purpose: Purpose, now) -> None:
    """Every contact answered yes to the bench purpose: one in ten 25 months ago (due), the others
    a month ago. Written raw, not timed; run again before each timed run (it undoes the lapses)."""
    due, fresh = now - timedelta(days=25 * 31), now - timedelta(days=31)
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM consent_purposeconsent WHERE purpose_id = %s", [purpose.pk])
        cursor.execute(
            "INSERT INTO consent_purposeconsent (contact_id, purpose_id, granted, changed_at, source) "
            "SELECT id, %s, %s, CASE WHEN id %% 10 = 0 THEN %s ELSE %s END, 'import' FROM contacts_contact",
            [purpose.pk, True, adapt(due), adapt(fresh)],
        )
    # Planner statistics for the new answers, as autovacuum gives a table after a bulk load
    # (bench.dataset._analyze): without them PostgreSQL guessed one row and each batch's
    # selection took seconds (seen at 100,000 on 2026-12-03).
    dialect(connection).analyze()


def _lapsed_ids(purpose: Purpose) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact_id FROM consent_purposeconsent WHERE purpose_id = %s AND granted = %s",
            [purpose.pk, False],
        )
        return {row[0] for row in cursor.fetchall()}


def retention_lapse(repeat: int, batch: int) -> list[Result]:
    """Seconds for retention_run (the eligibility selector per batch, consent_changes_apply with a
    sealed record and a history row per lapse, the run's counts) vs one UPDATE of the same rows
    (no record, no history: what a hand-written cron job would do). Each timed run starts from the
    same answers; the rebuild is not timed."""
    from consent.lapse import retention_run
    from consent.models import RetentionRun

    purpose, _ = Purpose.objects.update_or_create(
        slug=SLUG,
        defaults={
            "name": "Bench retention",
            "consent_validity_months": VALID_MONTHS,
            "validity_clock": RetentionClock.ANSWER,
        },
    )
    RetentionRun.objects.all().delete()  # a bench run stopped mid-way left its row "running"
    now = timezone.now()
    cutoff = now.replace(year=now.year - VALID_MONTHS // 12)
    # The rows the selector chooses besides the date (not restricted, not suppressed): written out.
    baseline_sql = (
        "UPDATE consent_purposeconsent SET granted = %s, changed_at = %s, source = 'retention' "
        "WHERE purpose_id = %s AND granted = %s AND changed_at <= %s AND contact_id IN ("
        "SELECT c.id FROM contacts_contact c WHERE c.processing_restricted = %s AND NOT EXISTS ("
        "SELECT 1 FROM contacts_legalhold h WHERE h.contact_id = c.id AND h.until >= %s))"
    )
    adapt = connection.ops.adapt_datetimefield_value
    params = [False, adapt(now), purpose.pk, True, adapt(cutoff), False, now.date()]

    def product():
        run = retention_run(now=now, batch_size=batch)
        return run.lapsed

    def baseline():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(baseline_sql, params)
            return cursor.rowcount

    def median_of(fn):  # no warm-up run: one lapse run at scale is long enough to be its own
        return timed_from(lambda: _answers(purpose, now), fn, repeat, warm_up=False)

    try:
        product_s, lapsed = median_of(product)
        product_ids = _lapsed_ids(purpose)
        baseline_s, baseline_lapsed = median_of(baseline)
        same = product_ids == _lapsed_ids(purpose)
    finally:
        _answers(purpose, now)
        # Leave the dataset as the other measurements know it: the bench purpose without answers.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM consent_purposeconsent WHERE purpose_id = %s", [purpose.pk])
        RetentionRun.objects.all().delete()
    ((contacts,),) = raw_rows("SELECT COUNT(*) FROM contacts_contact", [])
    extra = {
        "lapsed": lapsed,
        "baseline_lapsed": baseline_lapsed,
        "same_set": same,
        "batch": batch,
        "per_s": round(lapsed / product_s) if product_s else None,
        "baseline_per_s": round(baseline_lapsed / baseline_s) if baseline_s else None,
    }
    return [Result("retention lapse job (10% due)", contacts, product_s, baseline_s, extra=extra)]
