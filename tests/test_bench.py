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
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    PeriodicTask.objects.all().delete()  # only this one timed here: the others have tests of their own
    PeriodicTask.objects.create(
        name="Consent level snapshot (nightly)",
        task="consent.snapshot_levels",
        crontab=CrontabSchedule.objects.create(minute="15", hour="2"),
    )
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
        "consent writes (API vs bare DRF)",
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
    assert by_name["consent writes (API vs bare DRF)"]["statements_per_write"] > 0  # every answer a 200
    assert by_name["consent import vs COPY + INSERT ... SELECT"]["rows"] == 5
    delivered = by_name["webhook deliveries to a loopback receiver"]
    assert delivered["n"] == 5 and delivered["per_s"] > 0  # every event of the batch reached the receiver
    lapse = by_name["retention lapse job (10% due)"]
    assert lapse["same_set"] is True and lapse["lapsed"] == lapse["baseline_lapsed"] > 0
    # What a deployment of this size costs: disk per table and index, memory per process, jobs.
    cost = report["cost"]
    tables = {t["table"]: t for t in cost["tables"]}
    contacts = tables["contacts_contact"]
    assert contacts["total_bytes"] == contacts["table_bytes"] + contacts["index_bytes"] > 0
    assert contacts["indexes"]["contact_eligible_idx"] > 0
    assert cost["memory_peak_mb"]["bench process"] > 0
    assert cost["memory_peak_mb"]["gunicorn worker"] > 0  # the subscription center's workers
    (job,) = cost["nightly_jobs"]
    assert job["task"] == "consent.snapshot_levels" and job["outcome"] == "ok" and job["seconds"] > 0
    out = capsys.readouterr().out
    assert "eligibility count" in out and "contacts_contact" in out and "Consent level snapshot" in out
    # The synthetic data lives in its own database, never in the one the command started on.
    assert not Contact.objects.exists()


def test_bench_reuses_its_dataset_when_scale_and_schema_are_unchanged(bench_folder, tmp_path):
    call_command("bench", contacts=150, repeat=1, changes=1, only=["eligibility"], json=tmp_path / "a.json")
    first = json.loads((tmp_path / "a.json").read_text())["dataset"]
    call_command("bench", contacts=150, repeat=1, changes=1, only=["eligibility"], json=tmp_path / "b.json")
    assert json.loads((tmp_path / "b.json").read_text())["dataset"] == first  # not rebuilt


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_copy_build_writes_the_rows_the_service_writes_and_the_chain_verifies(monkeypatch):
    """The dataset on PostgreSQL comes through COPY (10,000,000 contacts within 30 minutes), the
    change records sealed in Python: the same contacts, answers, history and records as the
    consent service's bulk path writes, and the audit chain verifies over them."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's; SQLite builds through the service")
    from bench import copy_build, dataset
    from consent.audit_chain import verify

    # Small chunks, so children (their guardians drawn from earlier chunks) occur.
    monkeypatch.setattr(dataset, "CHUNK", 60)
    monkeypatch.setattr(copy_build, "CHUNK", 60)
    queries = {
        "contacts_contact": "id, first_name, last_name, email, consent_given, tracking_allowed, is_child, "
        "processing_restricted, guardian_id, last_action_at IS NOT NULL",
        "contacts_historicalcontact": "id, history_id, email, consent_given, tracking_allowed, is_child, "
        "processing_restricted, guardian_id, history_change_reason, history_type",
        "consent_purposeconsent": "id, contact_id, purpose_id, granted, source",
        "consent_historicalpurposeconsent": "id, history_id, contact_id, purpose_id, granted, history_type",
        "consent_consentchange": "id, contact_id, field, purpose_id, old_value, new_value, source, "
        "evidence::text, personal_digest",
    }

    def built(build) -> dict:
        with connection.cursor() as cursor:  # both builds start from empty tables and id 1
            cursor.execute(
                f"TRUNCATE {', '.join(queries)}, consent_auditchainhead, consent_auditstretchseal "
                "RESTART IDENTITY CASCADE"
            )
        build()
        assert verify(whole=True).ok  # record by record, whatever the seals say
        with connection.cursor() as cursor:
            found = {}
            for table, columns in queries.items():
                cursor.execute(f"SELECT {columns} FROM {table} ORDER BY 1, 2")
                found[table] = cursor.fetchall()
        return found

    by_service = built(lambda: _build_via(dataset, "service"))
    by_copy = built(lambda: _build_via(dataset, "copy"))
    assert by_copy == by_service
    # The COPY build seals its stretches as a first verification would: the next one reads nothing.
    sealed = verify()
    assert sealed.ok and sealed.walked == 0 and sealed.checked == len(by_copy["consent_consentchange"])
    contacts = by_copy["contacts_contact"]
    assert len(contacts) == 150 and any(c[6] and c[8] for c in contacts)  # children with guardians
    assert any(c[7] for c in contacts) and len(by_copy["consent_consentchange"]) > 150
    with connection.cursor() as cursor:  # the indexes dropped for the load are back
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'contact_eligible_idx'")
        assert cursor.fetchone()[0] == 1


def _build_via(dataset, how: str) -> None:
    import io

    from bench.copy_build import build_with_copy
    from consent.models import Purpose
    from core.models import ComplianceSettings

    settings_row = ComplianceSettings.load()
    settings_row.log_consent_changes = True
    settings_row.save()
    for slug, name in dataset.PURPOSES.items():
        Purpose.objects.get_or_create(slug=slug, defaults={"name": name})
    (build_with_copy if how == "copy" else dataset.build_with_service)(150, io.StringIO())
