"""Imports through the API, as another system sees them: upload a file to a source, follow the run's
status and progress, download the report of refused rows; the same run as an upload in the admin."""

import io

import pytest
from openpyxl import load_workbook

from consent.models import ConsentChange, Source
from contacts.models import Contact
from imports.models import ImportRun
from tests.imports.conftest import ISSUE_ROWS, csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def web_shop(db):
    from consent.models import Purpose
    from imports.models import ImportSource

    Purpose.objects.create(name="Newsletter", slug="newsletter")
    Purpose.objects.create(name="Product updates", slug="product-updates")
    return ImportSource.objects.create(
        name="Web shop",
        key_column="Consent ID",
        email_column="Email",
        option_column="Consent option",
        value_column="Consent value",
        date_column="Date",
    )


@pytest.fixture
def eager():
    from config.celery import app

    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = False, False


def _file(content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def post_file(api, source, content: bytes, *, name="shop.csv", **fields):
    return api.post(f"/api/v1/import-sources/{source.pk}/upload/", {"file": _file(content, name), **fields})


def test_an_upload_through_the_api_is_applied_and_its_report_downloads(
    web_shop, logging_on, privacy_officer, api_as, eager, django_capture_on_commit_callbacks
):
    api = api_as(privacy_officer)
    rows = [
        *ISSUE_ROWS,
        ["3", "holly@contoso.com", "Newsletter", "maybe", "2026-03-01"],
        ["=1+2", "jo@example.org", "Newsletter", "maybe", "2026-03-01"],
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(api, web_shop, csv_bytes(rows))
    assert response.status_code == 201, response.content
    queued = response.json()
    # The answer is the run as it was queued; the task ran once the upload committed.
    assert (queued["status"], queued["source"], queued["file_name"]) == ("queued", web_shop.pk, "shop.csv")
    assert queued["created_by"] == privacy_officer.username

    run = api.get(f"/api/v1/import-runs/{queued['id']}/").json()
    assert (run["status"], run["progress"], run["total_rows"]) == ("done", 100, 4)
    assert (run["applied_rows"], run["refused_rows"], run["has_report"]) == (2, 2, True)
    holly = Contact.objects.get(email="holly@contoso.com")
    assert ConsentChange.objects.filter(contact=holly, source=Source.IMPORT).exists()
    assert [r["id"] for r in api.get("/api/v1/import-runs/").json()["results"]] == [run["id"]]

    report = api.get(f"/api/v1/import-runs/{run['id']}/report/")
    assert report.status_code == 200
    assert report["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="import-' in report["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(b"".join(report.streaming_content))).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == ["Row", "Key", "Reason"]
    assert [v[:2] for v in values[1:]] == [[4, "3"], [5, "=1+2"]]
    # A key a spreadsheet would run as a formula is kept as text (as in the admin's report).
    assert sheet.cell(row=3, column=2).data_type == "s"


def test_the_api_upload_is_the_admins_upload(web_shop, privacy_officer, api_as, client_as):
    """Same service: the run, its stored file and its queued status look the same either way."""
    api_run = post_file(api_as(privacy_officer), web_shop, csv_bytes(ISSUE_ROWS), mode="all_or_nothing")
    client_as(privacy_officer).post(
        f"/admin/imports/importsource/{web_shop.pk}/upload/",
        {"file": _file(csv_bytes(ISSUE_ROWS), "shop.csv"), "mode": "all_or_nothing"},
    )
    by_api, by_admin = ImportRun.objects.order_by("id")
    assert by_api.pk == api_run.json()["id"]
    for run in (by_api, by_admin):
        assert (run.status, run.mode, run.trigger, run.created_by) == (
            "queued",
            "all_or_nothing",
            "upload",
            privacy_officer,
        )
        assert run.file.read() == csv_bytes(ISSUE_ROWS)
    assert by_api.file_sha256 == by_admin.file_sha256


def test_an_unreadable_file_fails_the_run_with_the_admins_reason(
    web_shop, privacy_officer, api_as, eager, django_capture_on_commit_callbacks
):
    api = api_as(privacy_officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(api, web_shop, b"\x00\x01\x02binary\x00" * 20, name="photo.csv")
    run = api.get(f"/api/v1/import-runs/{response.json()['id']}/").json()
    assert run["status"] == "failed" and "binary" in run["error"]
    assert not ConsentChange.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"file": None}, "file"),  # no file
        ({"content": b""}, "file"),  # an empty file
        ({"mode": "sometimes"}, "mode"),
    ],
)
def test_bad_uploads_are_refused_with_the_reason_and_store_nothing(
    web_shop, privacy_officer, api_as, fields, field
):
    api = api_as(privacy_officer)
    content = fields.pop("content", csv_bytes(ISSUE_ROWS))
    if fields.pop("file", "given") is None:
        response = api.post(f"/api/v1/import-sources/{web_shop.pk}/upload/", {"mode": "valid_rows"})
    else:
        response = post_file(api, web_shop, content, **fields)
    assert response.status_code == 400 and field in response.json()
    assert not ImportRun.objects.exists()


def test_a_file_over_the_size_limit_is_refused_as_in_the_admin(web_shop, privacy_officer, api_as, settings):
    settings.IMPORT_MAX_FILE_MB = 1
    content = csv_bytes([["1", "a@b.org", "Newsletter", "yes", "2026-03-01"]] * 30_000)
    assert len(content) > 1024 * 1024
    response = post_file(api_as(privacy_officer), web_shop, content)
    assert response.status_code == 400
    assert response.json()["file"] == ["The file is larger than 1 MB."]
    assert not ImportRun.objects.exists()


def test_a_json_body_is_not_an_upload(web_shop, privacy_officer, api_as):
    response = api_as(privacy_officer).post(
        f"/api/v1/import-sources/{web_shop.pk}/upload/", {"file": "x"}, content_type="application/json"
    )
    assert response.status_code == 415
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("persona", ["marketer", "auditor", "outsider"])
def test_only_officers_upload(request, web_shop, api_as, persona):
    response = post_file(api_as(request.getfixturevalue(persona)), web_shop, csv_bytes(ISSUE_ROWS))
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


def test_an_auditor_follows_runs_and_reads_reports(web_shop, privacy_officer, auditor, api_as):
    run = post_file(api_as(privacy_officer), web_shop, csv_bytes(ISSUE_ROWS)).json()
    api = api_as(auditor)
    assert api.get(f"/api/v1/import-runs/{run['id']}/").json()["status"] == "queued"
    assert api.get(f"/api/v1/import-runs/{run['id']}/report/").status_code == 200
    assert api.get("/api/v1/import-sources/").json()["results"][0]["name"] == "Web shop"


def test_a_marketer_reads_no_runs_and_no_reports(web_shop, privacy_officer, marketer, api_as):
    run = post_file(api_as(privacy_officer), web_shop, csv_bytes(ISSUE_ROWS)).json()
    api = api_as(marketer)
    report = api.get(f"/api/v1/import-runs/{run['id']}/report/")
    assert report.status_code == 403 and report["Content-Type"] == "application/json"
    assert api.get("/api/v1/import-runs/").status_code == 403


def test_the_report_of_an_unknown_run_is_a_json_404(privacy_officer, api_as):
    response = api_as(privacy_officer).get("/api/v1/import-runs/999/report/")
    assert response.status_code == 404 and response.json() == {
        "detail": "No ImportRun matches the given query."
    }


def test_runs_filter_by_source_and_status(web_shop, privacy_officer, api_as):
    api = api_as(privacy_officer)
    post_file(api, web_shop, csv_bytes(ISSUE_ROWS))
    assert len(api.get(f"/api/v1/import-runs/?source={web_shop.pk}&status=queued").json()["results"]) == 1
    assert api.get("/api/v1/import-runs/?status=done").json()["results"] == []
    assert api.get("/api/v1/import-runs/?source=abc").status_code == 400
