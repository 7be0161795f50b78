"""A job's page keeps its bar moving without a manual reload, under the CSP (issue 20)."""

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import expect

from imports.models import ImportRun, ImportSource
from tests.e2e.admin_login import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_imports_bar_moves_and_the_page_shows_the_result_when_done(browser, live_server, privacy_officer):
    source = ImportSource.objects.create(
        name="Web shop", key_column="Consent ID", email_column="Email", option_column="o", value_column="v"
    )
    run = ImportRun(source=source, file_name="export.csv", file_sha256="0" * 64)
    run.file.save("export.csv", ContentFile(b"Consent ID,Email\n"), save=False)
    run.status, run.total_rows, run.next_row = ImportRun.Status.RUNNING, 400, 40
    run.started_at = timezone.now() - dt.timedelta(minutes=1)
    run.save()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/imports/importrun/{run.pk}/change/")
    bar = page.locator("progress.job-progress")
    expect(bar).to_have_attribute("value", "10")
    page.evaluate("window.__same_page = true")  # gone if the page reloads

    ImportRun.objects.filter(pk=run.pk).update(next_row=200)
    expect(page.locator(".job-progress-text")).to_contain_text("200 / 400 (50 %)", timeout=10_000)
    expect(page.locator(".job-progress-text")).to_contain_text("left")
    assert page.evaluate("window.__same_page === true")  # moved without a reload
    assert bar.evaluate("b => b.value") == 50

    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.DONE, next_row=400, applied_rows=400)
    expect(page.locator(".job-progress-text")).to_contain_text("400 / 400 (100 %)", timeout=10_000)
    assert page.evaluate("window.__same_page === undefined")  # reloaded once, to show the result
    assert [p for p in problems if "Content Security Policy" in p] == []
    context.close()
