"""The benchmark command at a tiny scale: every figure comes with a baseline and the answers agree."""

import json

import pytest
from django.core.management import call_command

from contacts.models import Contact


@pytest.fixture(scope="module")
def bench_var(tmp_path_factory):
    """One folder for both tests, its benchmark database started from a copy of the migrated test
    database on SQLite: migrating a database from nothing took most of these tests' four minutes,
    and the command's own migrate step still runs (it finds nothing left to apply)."""
    return tmp_path_factory.mktemp("bench-var")


@pytest.fixture
def bench_folder(bench_var, settings, transactional_db):
    import sqlite3

    from django.db import connection

    settings.VAR_DIR = bench_var
    copy = bench_var / "bench" / "bench.sqlite3"
    if connection.vendor == "sqlite" and not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(connection.settings_dict["NAME"]) as source, sqlite3.connect(copy) as target:
            source.backup(target)  # consistent even with pages still in the write-ahead log
    return bench_var


def test_bench_reports_each_operation_beside_its_baseline(bench_folder, capsys):
    target = bench_folder / "bench.json"
    call_command(
        "bench", contacts=1000, repeat=1, changes=5, import_rows=5, erasures=3, seconds=0.5, json=target
    )

    report = json.loads(target.read_text())
    by_name = {r["operation"]: r for r in report["results"]}
    assert set(by_name) == {
        "eligibility count",
        "eligibility first page",
        "admin changelist (filtered, page 1)",
        "audit export (xlsx)",
        "consent changes (service)",
        "consent changes (service, one batch)",
        "erasure of one contact (p50)",
        "contact page with access log",
        "subscription center GET (gunicorn -w 2)",
        "subscription center GET+POST (gunicorn -w 2)",
        "journey enrolment (INSERT ... SELECT)",
        "consent import (csv rows)",
        "consent import vs COPY + INSERT ... SELECT",
        "consent changes with the outbox (one batch)",
        "webhook deliveries to a loopback receiver",
        "retention lapse job (10% due)",
    }
    assert all(r["median_s"] > 0 and r["baseline_median_s"] > 0 for r in report["results"])
    eligibility = by_name["eligibility count"]
    assert eligibility["same_set"] is True and eligibility["count"] == eligibility["baseline_count"] > 0
    assert by_name["admin changelist (filtered, page 1)"]["uncapped_count_queries"] == 0
    assert by_name["audit export (xlsx)"]["rows"] > 0
    assert by_name["erasure of one contact (p50)"]["statements"] > 5
    assert by_name["erasure of one contact (p50)"]["full_scans_on_large_tables"] == "none"
    center = by_name["subscription center GET+POST (gunicorn -w 2)"]
    assert set(center["statuses"]) == {"200"} and center["per_s"] > 0  # the form really saved, no 403
    enrolled = by_name["journey enrolment (INSERT ... SELECT)"]
    assert enrolled["same_set"] is True and enrolled["enrolled"] == enrolled["baseline_enrolled"] > 0
    assert by_name["consent import (csv rows)"]["rows"] == 5
    assert by_name["consent import vs COPY + INSERT ... SELECT"]["rows"] == 5
    delivered = by_name["webhook deliveries to a loopback receiver"]
    assert delivered["n"] == 5 and delivered["per_s"] > 0  # every event of the batch reached the receiver
    lapse = by_name["retention lapse job (10% due)"]
    assert lapse["same_set"] is True and lapse["lapsed"] == lapse["baseline_lapsed"] > 0
    assert "eligibility count" in capsys.readouterr().out
    # The synthetic data lives in its own database, never in the one the command started on.
    assert not Contact.objects.exists()


def test_bench_reuses_its_dataset_when_scale_and_schema_are_unchanged(bench_folder, tmp_path):
    call_command("bench", contacts=150, repeat=1, changes=1, only=["eligibility"], json=tmp_path / "a.json")
    first = json.loads((tmp_path / "a.json").read_text())["dataset"]
    call_command("bench", contacts=150, repeat=1, changes=1, only=["eligibility"], json=tmp_path / "b.json")
    assert json.loads((tmp_path / "b.json").read_text())["dataset"] == first  # not rebuilt
