"""The residue scan after an erasure runs in a worker, erasures waiting share one pass over every
table, and what it looks for waits encrypted (dsr.residue_queue)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dsr.erasure import contacts_erase
from dsr.models import ErasureRecord, PendingResidueScan
from dsr.residue import Identity, residue_scan
from dsr.residue_queue import residue_scans_run
from dsr.services import dsr_create, dsr_start, dsr_verify
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the scan is queued when the erasure commits

ANNA = {
    "first_name": "Anna",
    "last_name": "Lindqvist",
    "email": "anna.lindqvist@example.org",
    "phone": "+4930123456",
}
BO = {"first_name": "Bo", "last_name": "Ekstrand", "email": "bo.ekstrand@example.org", "phone": ""}


def _erase(person: dict, officer, capture) -> ErasureRecord:
    contact = ContactFactory(**person)
    with capture(execute=True):
        return contacts_erase(contacts=[contact], actor=officer)


def _identity(person: dict) -> Identity:
    return Identity(**{k: person[k] for k in ("email", "phone", "first_name", "last_name")})


def test_the_erasure_commits_with_its_scan_pending_and_the_worker_writes_the_verdict(
    privacy_officer, django_capture_on_commit_callbacks
):
    record = _erase(ANNA, privacy_officer, django_capture_on_commit_callbacks)

    record.refresh_from_db()
    assert record.residue_clean is None and record.residue_pending
    sealed = bytes(PendingResidueScan.objects.get(record=record).sealed)
    for trace in (b"anna.lindqvist", b"Lindqvist", b"30123456"):
        assert trace not in sealed  # what the scan looks for waits encrypted
    assert residue_scan([_identity(ANNA)]).clean  # so no table holds her meanwhile, the queue included

    assert residue_scans_run() == 1
    record.refresh_from_db()
    assert record.residue_clean is True and not record.residue_pending
    assert record.residue["tables_scanned"] > 20 and record.residue["hits"] == []
    assert not PendingResidueScan.objects.exists()
    assert residue_scans_run() == 0  # nothing waits: a second drain writes nothing


def test_waiting_erasures_share_one_pass_and_each_gets_its_own_verdict(
    privacy_officer, django_capture_on_commit_callbacks
):
    anna = _erase(ANNA, privacy_officer, django_capture_on_commit_callbacks)
    bo = _erase(BO, privacy_officer, django_capture_on_commit_callbacks)
    # A copy of Anna's address the registry does not know about: only her scan may report it.
    PurposeFactory(slug="callback", name="Callback", description=f"ask {ANNA['email']} first")
    with CaptureQueriesContext(connection) as alone:
        residue_scan([_identity(BO)], files=False)

    with CaptureQueriesContext(connection) as shared:
        assert residue_scans_run() == 2

    anna.refresh_from_db()
    bo.refresh_from_db()
    assert anna.residue_clean is False
    assert {h["table"] for h in anna.residue["hits"]} == {"consent_purpose", "consent_historicalpurpose"}
    assert {"table": "consent_purpose", "column": "description", "found": "email", "rows": 1} in anna.residue[
        "hits"
    ]
    assert bo.residue_clean is True and bo.residue["hits"] == []

    def passes_over_purposes(queries):
        return sum('FROM "consent_purpose"' in q["sql"] and "COUNT(" in q["sql"] for q in queries)

    assert passes_over_purposes(shared.captured_queries) == passes_over_purposes(alone.captured_queries) >= 1


def test_a_pass_takes_up_to_the_people_limit(privacy_officer, django_capture_on_commit_callbacks, settings):
    settings.RESIDUE_SCAN_PEOPLE = 1
    _erase(ANNA, privacy_officer, django_capture_on_commit_callbacks)
    _erase(BO, privacy_officer, django_capture_on_commit_callbacks)

    assert residue_scans_run(limit=1) == 1  # one person per pass: Bo waits for the next
    assert PendingResidueScan.objects.count() == 1
    assert residue_scans_run() == 1 and not PendingResidueScan.objects.exists()


def test_a_claim_of_a_dead_worker_is_taken_over_and_a_live_claim_is_left(
    privacy_officer, django_capture_on_commit_callbacks, settings
):
    record = _erase(ANNA, privacy_officer, django_capture_on_commit_callbacks)
    PendingResidueScan.objects.update(claimed_at=timezone.now())  # another worker is scanning

    assert residue_scans_run() == 0
    record.refresh_from_db()
    assert record.residue_clean is None and record.residue_pending

    stale = timezone.now() - timedelta(seconds=settings.RESIDUE_SCAN_CLAIM_SECONDS + 60)
    PendingResidueScan.objects.update(claimed_at=stale)  # that worker died hours ago
    assert residue_scans_run() == 1
    record.refresh_from_db()
    assert record.residue_clean is True


def test_a_rotated_secret_key_still_opens_the_queue_and_a_lost_one_is_reported(
    privacy_officer, django_capture_on_commit_callbacks, settings
):
    old = settings.SECRET_KEY
    first = _erase(ANNA, privacy_officer, django_capture_on_commit_callbacks)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "x" * 50, [old]
    assert residue_scans_run() == 1
    first.refresh_from_db()
    assert first.residue_clean is True

    second = _erase(BO, privacy_officer, django_capture_on_commit_callbacks)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "another-key-" + "y" * 50, []
    assert residue_scans_run() == 1
    second.refresh_from_db()
    assert second.residue_clean is False  # never taken for clean without knowing what to look for
    assert any("could not be decrypted" in error for error in second.residue["errors"])


def test_the_officer_is_told_the_scan_runs_in_a_worker_then_sees_its_verdict(
    privacy_officer, client_as, django_capture_on_commit_callbacks
):
    ContactFactory(**ANNA)
    request, _ = dsr_create(kind="erase", email=ANNA["email"], channel="web", name="Anna Lindqvist")
    dsr_verify(request=request, actor=privacy_officer, how="replied from the address")
    request = dsr_start(request=request, actor=privacy_officer)
    officer = client_as(privacy_officer)
    url = reverse("admin:dsr_datasubjectrequest_erase", args=[request.pk])

    with django_capture_on_commit_callbacks(execute=True):
        done = officer.post(url, {"expected_status": "in_progress"}, follow=True).content.decode()
    assert "residue scan of every table and file runs in a worker" in done
    assert "running in a worker" in done and "clean — none of the person" not in done

    residue_scans_run()
    page = officer.get(reverse("admin:dsr_datasubjectrequest_change", args=[request.pk])).content.decode()
    assert "clean — none of the person" in page and "running in a worker" not in page


def test_a_verdict_written_behind_the_applications_back_is_not_overwritten_and_is_logged(
    privacy_officer, django_capture_on_commit_callbacks, caplog
):
    record = _erase(ANNA, privacy_officer, django_capture_on_commit_callbacks)
    ErasureRecord.objects.filter(pk=record.pk).update(residue_clean=True, residue={"hits": []})  # by SQL

    assert residue_scans_run() == 0
    assert f"erasure record {record.pk} already had a residue verdict" in caplog.text
    assert not PendingResidueScan.objects.exists()
