"""The import pages: officers upload and watch runs, auditors read them, marketers see nothing."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from imports.models import ImportRun
from tests.imports.conftest import ISSUE_ROWS, csv_bytes

pytestmark = pytest.mark.django_db


def upload(client, source, content, mode="valid_rows", name="shop.csv"):
    return client.post(
        f"/admin/imports/importsource/{source.pk}/upload/",
        {"file": SimpleUploadedFile(name, content), "mode": mode},
    )


def test_an_officer_uploads_a_file_and_sees_the_finished_run(
    source, client_as, privacy_officer, eager, django_capture_on_commit_callbacks
):
    client = client_as(privacy_officer)
    assert client.get(f"/admin/imports/importsource/{source.pk}/upload/").status_code == 200
    rows = [*ISSUE_ROWS, ["3", "holly@contoso.com", "Newsletter", "maybe", "2026-03-01"]]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, source, csv_bytes(rows))
    run = ImportRun.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/admin/imports/importrun/{run.pk}/change/"
    )

    page = client.get(response["Location"]).content.decode()
    assert "Done" in page and 'value="100"' in page
    assert "“maybe” is not a consent value" in page and "Download report (XLSX)" in page
    listing = client.get("/admin/imports/importrun/").content.decode()
    assert "shop.csv" in listing

    report = client.get(f"/admin/imports/importrun/{run.pk}/report/")
    sheet = load_workbook(io.BytesIO(b"".join(report.streaming_content))).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["Row", "Key", "Reason"],
        [4, "3", "“maybe” is not a consent value (use true/false, yes/no, 1/0)."],
    ]
    assert run.created_by == privacy_officer


@pytest.mark.parametrize("persona", ["marketer", "auditor", "outsider"])
def test_only_officers_may_upload(request, source, client_as, persona):
    client = client_as(request.getfixturevalue(persona))
    assert client.get(f"/admin/imports/importsource/{source.pk}/upload/").status_code == 403
    assert upload(client, source, csv_bytes(ISSUE_ROWS)).status_code == 403
    assert not ImportRun.objects.exists()


def test_an_auditor_reads_runs_and_reports_but_cannot_resume(source, client_as, auditor, run_import):
    run = run_import(source, csv_bytes([["1", "x", "Newsletter", "yes", "2026-03-01"]]))
    client = client_as(auditor)
    assert client.get(f"/admin/imports/importrun/{run.pk}/change/").status_code == 200
    assert client.get(f"/admin/imports/importrun/{run.pk}/report/").status_code == 200
    response = client.post(
        "/admin/imports/importrun/", {"action": "resume", "_selected_action": [run.pk]}, follow=True
    )
    assert ImportRun.objects.get().status == ImportRun.Status.DONE
    assert "resume" not in response.content.decode().split('name="action"')[-1][:500]


@pytest.mark.parametrize("persona", ["marketer", "outsider"])
def test_the_report_is_refused_to_roles_without_imports(request, source, client_as, run_import, persona):
    run = run_import(source, csv_bytes(ISSUE_ROWS))
    client = client_as(request.getfixturevalue(persona))
    assert client.get(f"/admin/imports/importrun/{run.pk}/report/").status_code == 403


def test_an_officer_resumes_a_failed_run(
    source, client_as, privacy_officer, eager, django_capture_on_commit_callbacks
):
    run = ImportRun.objects.create(
        source=source, file_name="x.csv", file_sha256="0", status=ImportRun.Status.FAILED, error="worker lost"
    )
    with django_capture_on_commit_callbacks(execute=True):
        client_as(privacy_officer).post(
            "/admin/imports/importrun/", {"action": "resume", "_selected_action": [run.pk]}
        )
    run.refresh_from_db()
    # Re-queued and run again: the stored file is gone, so it fails again with the reader's message.
    assert (run.attempts, run.status) == (1, ImportRun.Status.FAILED)
    assert run.error == "The uploaded file is no longer stored; upload it again."
