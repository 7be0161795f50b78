"""A record's history in a real browser at 1280 px: from an email template's page to its History,
filtered to one field, exported to Excel; screenshot for people in
var/test/screenshots/record-history.png."""

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from journeys.models import EmailTemplate
from tests.e2e.admin_login import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_officer_reads_and_exports_who_changed_a_templates_subject(browser, live_server, privacy_officer):
    from tests.screenshots import screenshot

    template = EmailTemplate.objects.create(name="Welcome", subject="Hello", body="Hi {{ first_name }}")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/journeys/emailtemplate/{template.pk}/change/")
    page.get_by_label("Subject").fill("Welcome aboard")
    page.get_by_role("button", name="Save", exact=True).click()

    page.goto(f"{live_server.url}/admin/journeys/emailtemplate/{template.pk}/change/")
    page.get_by_role("link", name="History").click()
    page.get_by_label("Show changes of").select_option(label="Subject")
    page.get_by_role("button", name="Filter").click()
    table = page.locator("#change-history")
    expect(table).to_contain_text("Welcome aboard")
    expect(table).to_contain_text("officer")
    expect(table).not_to_contain_text("Hi {{ first_name }}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "record-history")

    with page.expect_download() as download:
        page.get_by_role("button", name="Export to Excel").click()
    workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert ("Subject", "Hello", "Welcome aboard", "officer") in [row[2:6] for row in rows]
    context.close()
