"""Bulk rectification in a real browser: select contacts, export them for correction, correct the
file, upload it with a reason, read the report of refused rows (screenshot for people)."""

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from contacts.models import Contact
from tests.e2e.admin_login import log_in
from tests.factories import ContactFactory
from tests.screenshots import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tasks_inline():
    from config.celery import app

    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = False, False


def test_an_officer_round_trips_a_correction_file_in_the_browser(
    browser, live_server, privacy_officer, tasks_inline, tmp_path
):
    for n in range(3):
        ContactFactory(first_name=f"Holly{n}", last_name="Hansen", email=f"holly{n}@contoso.com")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option("export_for_rectification")
    with page.expect_download() as download:
        page.locator("button[name=index]").click()
    exported = tmp_path / "contacts.xlsx"
    download.value.save_as(exported)

    book = load_workbook(exported)
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    sheet.cell(2, header.index("Last name") + 1, "Hansen-Berg")
    sheet.cell(3, header.index("Email") + 1, "holly at contoso")
    corrected = tmp_path / "corrected.xlsx"
    book.save(corrected)

    page.goto(f"{live_server.url}/admin/imports/rectification/add/")
    page.get_by_label("Corrected Excel file").set_input_files(corrected)
    page.get_by_label("Reason for the corrections").fill("corrections from customer service")
    page.get_by_role("button", name="Apply the corrections").click()
    expect(page.get_by_role("link", name="Download report (XLSX)")).to_be_visible()
    row = page.locator("tr", has=page.get_by_role("cell", name="Email", exact=True))
    expect(row.get_by_role("cell").first).to_have_text("3")
    assert Contact.objects.filter(last_name="Hansen-Berg").count() == 1
    screenshot(page, "bulk-rectification-report")
    context.close()
