"""Erasure of one contact with its related data, and the tables its statements scan in full."""

from __future__ import annotations

import statistics
import time

from django.apps import apps
from django.db import connection, transaction

from bench.measurements.common import Result, officer
from consent.models import Source
from consent.services import consent_change
from contacts.models import Contact
from core.bulk import dialect


def _erasure_victims(count: int, offset: int) -> list[Contact]:
    """Adults without wards, each given what a real person accumulates: answers, a subscription,
    consent changes with history, and a staff view in the access log. Not timed."""
    from staff.models import AccessedContact, AccessLogEntry
    from subscriptions.models import SubscriptionList
    from subscriptions.services import subscription_set

    news, _ = SubscriptionList.objects.get_or_create(slug="bench-news", defaults={"name": "Bench news"})
    wards = Contact.objects.filter(guardian__isnull=False).values("guardian_id")
    people = list(
        Contact.objects.filter(is_child=False, consent_given__gte=3)
        .exclude(pk__in=wards)
        .order_by("-id")[offset : offset + count]
    )
    actor = officer()
    for person in people:
        consent_change(
            contact=person,
            level=person.consent_given,
            tracking_allowed=not person.tracking_allowed,
            source=Source.ADMIN,
            actor=actor,
            justification="bench: phoned in",
        )
        subscription_set(contact=person, subscription_list=news, status="subscribed", source=Source.IMPORT)
        entry = AccessLogEntry.objects.create(user=actor, action=AccessLogEntry.Action.VIEW, contact_count=1)
        AccessedContact.objects.create(entry=entry, contact=person)
    return people


def _plan_scans(statements: list[tuple[str, list]]) -> list[str]:
    """Tables of more than 10,000 rows that a statement reads by a full scan instead of an index."""
    big = {
        m._meta.db_table
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and m._default_manager.count() > 10_000
    }
    found = set()
    with connection.cursor() as cursor:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                continue
            found |= dialect(connection).full_scans(cursor, sql, params) & big
    return sorted(found)


def erasure(samples: int) -> list[Result]:
    """See _erasure; rolled back at the end, so the dataset stays as it was for the next run."""
    with transaction.atomic():
        results = _erasure(samples)
        transaction.set_rollback(True)
    return results


def _erasure(samples: int) -> list[Result]:
    """p50/p95 latency to erase one contact with its related data (registry walk, history purge,
    suppression, erasure record) vs raw DELETE/UPDATE statements removing the same kinds of rows;
    and the tables any of the erasure's statements scanned in full."""
    from dsr.residue import Identity

    actor = officer()
    victims = _erasure_victims(samples, 0)
    others = _erasure_victims(samples, samples)
    last = victims[-1]  # their details, read before the erasure blanks them
    identity = Identity(last.email, last.phone, last.first_name, last.last_name)
    latencies, statements = _time_erasures(victims, actor)
    scan_s = _time_residue_scan(identity)
    baseline = _time_raw_erasures(others)
    scans = _plan_scans(statements)
    extra = {
        "p95_ms": round(_p95(latencies) * 1000, 1),
        "baseline_p95_ms": round(_p95(baseline) * 1000, 1),
        "statements": len(statements),
        "full_scans_on_large_tables": ", ".join(scans) or "none",
        "residue_scan_ms": round(scan_s * 1000, 1),
    }
    return [
        Result(
            "erasure of one contact (p50)",
            Contact.objects.count(),
            statistics.median(latencies),
            statistics.median(baseline),
            extra=extra,
        )
    ]


def _time_erasures(victims: list[Contact], actor) -> tuple[list[float], list[tuple[str, list]]]:
    """Seconds per contacts_erase of each victim, and the statements the first one ran."""
    from dsr.erasure import contacts_erase

    statements: list[tuple[str, list]] = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, list(params or [])))
        return execute(sql, params, many, context)

    latencies = []
    for i, person in enumerate(victims):
        started = time.perf_counter()
        if i == 0:
            with connection.execute_wrapper(capture):
                contacts_erase(contacts=[person], actor=actor, scan=False)
        else:
            contacts_erase(contacts=[person], actor=actor, scan=False)
        latencies.append(time.perf_counter() - started)
    return latencies, statements


def _time_residue_scan(identity) -> float:
    """Seconds of one residue scan for a person erased."""
    from dsr.residue import residue_scan

    started = time.perf_counter()
    residue_scan([identity])
    return time.perf_counter() - started


# The baseline: the same kinds of rows removed by hand-written statements.
_RAW_ERASURE = (
    "DELETE FROM consent_purposeconsent WHERE contact_id = %s",
    "DELETE FROM consent_historicalpurposeconsent WHERE contact_id = %s",
    "DELETE FROM subscriptions_subscription WHERE contact_id = %s",
    "DELETE FROM subscriptions_historicalsubscription WHERE contact_id = %s",
    "UPDATE consent_consentchange SET contact_id = NULL, justification = '', evidence = '{}',"
    " channel = '', pseudonymised = %s WHERE contact_id = %s",
    "DELETE FROM contacts_contact WHERE id = %s",
    "DELETE FROM contacts_historicalcontact WHERE id = %s",
)


def _time_raw_erasures(others: list[Contact]) -> list[float]:
    baseline = []
    with connection.cursor() as cursor:
        for person in others:
            started = time.perf_counter()
            with transaction.atomic():
                for sql in _RAW_ERASURE:
                    cursor.execute(sql, [True, person.pk] if "pseudonymised" in sql else [person.pk])
            baseline.append(time.perf_counter() - started)
    return baseline


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]
