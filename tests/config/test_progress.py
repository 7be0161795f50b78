"""Job progress: the bar's figures, the estimate of the time left, the JSON its script polls."""

import datetime as dt
import json

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from core.progress import job_progress, time_left_text
from imports.models import ImportRun, ImportSource

NOW = dt.datetime(2026, 5, 12, 12, 0, tzinfo=dt.UTC)


def test_the_time_left_is_extrapolated_from_the_rate_so_far():
    progress = job_progress(
        status="running",
        label="Running",
        running=True,
        done=250,
        total=1000,
        started_at=NOW - dt.timedelta(minutes=1),
        now=NOW,
    )
    assert (progress.percent, progress.seconds_left) == (25, 180)
    assert progress.text == "250 / 1000 (25 %) — about 3 minutes left"


def test_short_or_unstarted_jobs_get_no_estimate():
    fresh = job_progress(
        status="running",
        label="Running",
        running=True,
        done=5,
        total=10,
        started_at=NOW - dt.timedelta(seconds=3),
        now=NOW,
    )
    queued = job_progress(
        status="queued", label="Queued", running=True, done=0, total=0, started_at=None, now=NOW
    )
    assert fresh.seconds_left is None and fresh.text == "5 / 10 (50 %)"
    assert queued.seconds_left is None and queued.percent == 0 and queued.text == "Queued"


def test_a_finished_job_is_full_and_no_longer_running():
    done = job_progress(
        status="done", label="Done", running=False, done=10, total=10, started_at=NOW, now=NOW
    )
    assert done.percent == 100 and not done.running


def test_time_left_reads_as_words():
    assert time_left_text(20) == "less than a minute left"
    assert time_left_text(60) == "about 1 minute left"
    assert time_left_text(3 * 3600) == "about 3 hours left"


@pytest.fixture
def running_import(db):
    source = ImportSource.objects.create(
        name="Web shop", key_column="Consent ID", email_column="Email", option_column="o", value_column="v"
    )
    run = ImportRun(source=source, file_name="export.csv", file_sha256="0" * 64)
    run.file.save("export.csv", ContentFile(b"Consent ID,Email\n"), save=False)
    run.status, run.total_rows, run.next_row = ImportRun.Status.RUNNING, 400, 40
    run.started_at = timezone.now() - dt.timedelta(minutes=1)
    run.save()
    return run


def test_a_running_imports_page_carries_the_script_and_its_status_address(
    client_as, privacy_officer, running_import
):
    page = client_as(privacy_officer).get(reverse("admin:imports_importrun_change", args=[running_import.pk]))
    html = page.content.decode()
    url = reverse("admin:imports_importrun_progress", args=[running_import.pk])
    assert f'data-progress-url="{url}"' in html and "js/job-progress.js" in html
    assert "<script>" not in html.replace(" ", "")  # nothing inline: the CSP allows none


def test_the_status_json_follows_the_run_without_a_reload(client_as, auditor, running_import):
    client = client_as(auditor)
    url = reverse("admin:imports_importrun_progress", args=[running_import.pk])
    first = json.loads(client.get(url).content)
    assert (first["percent"], first["running"]) == (10, True) and "minutes left" in first["text"]
    ImportRun.objects.filter(pk=running_import.pk).update(next_row=200)
    assert json.loads(client.get(url).content)["percent"] == 50
    ImportRun.objects.filter(pk=running_import.pk).update(status=ImportRun.Status.DONE)
    finished = json.loads(client.get(url).content)
    assert (finished["percent"], finished["running"]) == (100, False)
    assert "no-store" in client.get(url)["Cache-Control"]


def test_a_marketer_gets_no_import_progress(client_as, marketer, running_import):
    url = reverse("admin:imports_importrun_progress", args=[running_import.pk])
    assert client_as(marketer).get(url).status_code == 403
