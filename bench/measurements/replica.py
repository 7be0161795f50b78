"""Reads on the read replica beside the same reads on the primary (DATABASE_REPLICA_URL set), and
how long the replica takes to show a write. Nothing is measured without a replica."""

from __future__ import annotations

import time

from django.db import connection, connections
from django.db.models import F
from django.test import Client
from django.urls import reverse

from bench.measurements.common import Result, officer, timed
from consent.selectors import eligible_contacts
from contacts.models import Contact
from core.db_router import (
    PIN_COOKIE,
    REPLICA,
    replica_caught_up,
    replica_configured,
    replica_reads,
    writes_tracked,
)
from core.filescan import Identity
from dsr.residue import residue_scan


def replica_reads_beside_primary(repeat: int) -> list[Result]:
    """Each read as the product makes it on the replica vs the same read forced onto the primary
    (a context that wrote reads there: read-your-writes)."""
    if not replica_configured():
        return []
    _follow_bench_database()
    caught_up_s = _lag()  # the dataset just built must be on the replica first
    n = Contact.objects.count()
    selected = eligible_contacts(min_level=4, purpose="newsletter")

    def on_replica(fn):
        def read():
            with writes_tracked(), replica_reads():
                return fn()

        return read

    def on_primary(fn):
        def read():
            with writes_tracked(pinned=True), replica_reads():
                return fn()

        return read

    results = []
    count = lambda: selected.count()  # noqa: E731
    page = lambda: list(selected.order_by("id").values_list("id", flat=True)[:50])  # noqa: E731
    for name, read in (("eligibility count", count), ("eligibility first page", page)):
        replica_s, got = timed(on_replica(read), repeat)
        primary_s, expected = timed(on_primary(read), repeat)
        results.append(
            Result(f"{name} on the replica", n, replica_s, primary_s, extra={"same_result": got == expected})
        )

    # The residue scan of every table for someone who is not there (tables only, as after an erasure).
    nobody = Identity(email="nobody@bench.invalid", first_name="Nobody", last_name="Atall")
    scan = lambda: residue_scan([nobody], files=False).tables_scanned  # noqa: E731
    replica_s, _ = timed(on_replica(scan), repeat)
    primary_s, _ = timed(on_primary(scan), repeat)
    results.append(Result("residue scan (tables) on the replica", n, replica_s, primary_s))

    client = Client()
    client.force_login(officer())
    url = reverse("consent-dashboard")

    def dashboard():
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    replica_s, _ = timed(dashboard, repeat)
    client.cookies[PIN_COOKIE] = "1"  # as after a write: the same page from the primary
    primary_s, _ = timed(dashboard, repeat)
    results.append(Result("compliance dashboard on the replica", n, replica_s, primary_s))

    lags = sorted(_lag() for _ in range(repeat))
    results[0].extra |= {
        "dataset_caught_up_s": round(caught_up_s, 2),
        "lag_after_a_write_ms_median": round(lags[len(lags) // 2] * 1000, 1),
        "lag_after_a_write_ms_max": round(lags[-1] * 1000, 1),
    }
    return results


def _follow_bench_database() -> None:
    """The bench reads its own database (bench.dataset): the replica alias reads the same one."""
    settings_dict = connections[REPLICA].settings_dict
    if settings_dict["NAME"] != connection.settings_dict["NAME"]:
        connections[REPLICA].close()
        settings_dict["NAME"] = connection.settings_dict["NAME"]


def _lag() -> float:
    """Seconds from a committed write on the primary until the replica has replayed it."""
    first = Contact.objects.order_by("pk").values_list("pk", flat=True).first()
    Contact.objects.filter(pk=first).update(first_name=F("first_name"))  # a new row version, same data
    started = time.perf_counter()
    if not replica_caught_up(timeout=600):
        raise RuntimeError("The replica did not replay the primary's last write within 10 minutes.")
    return time.perf_counter() - started
