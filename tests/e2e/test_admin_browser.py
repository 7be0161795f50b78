"""The admin in a real browser with JavaScript: it logs in and its widgets run under the CSP."""

import pytest
from playwright.sync_api import expect

from tests.e2e.admin_login import log_in
from tests.factories import ContactFactory
from tests.screenshots import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_officer_logs_in_and_the_contact_page_runs_without_csp_violations(
    browser, live_server, privacy_officer
):
    contact = ContactFactory(first_name="Holly")
    context = browser.new_context()
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/contacts/contact/{contact.pk}/change/")
    expect(
        page.get_by_role("heading", name="Change contact")
    ).to_be_visible()  # waits for the page the click loads
    # The guardian autocomplete is a script widget: it only renders when scripts may run.
    assert page.locator(".select2-container").count() >= 1
    assert [p for p in problems if "Content Security Policy" in p] == []
    context.close()


def test_dashboard_with_demo_data_in_the_browser(browser, live_server, settings):
    """The dashboard drawn from the demo data, its figures beside its charts; screenshot for people."""
    from django.core.management import call_command

    from contacts.models import Contact

    call_command("seed_demo", verbosity=0, force=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url, "officer", "demo-officer-2026")
    page.goto(f"{live_server.url}/admin/dashboard/")
    expect(
        page.get_by_role("heading", name="Consent levels now")
    ).to_be_visible()  # waits for the page the click loads
    levels = page.locator(".module", has=page.get_by_role("heading", name="Consent levels now"))
    shown = [int(row.locator("td").first.inner_text()) for row in levels.locator("tbody tr").all()]
    assert sum(shown) == Contact.objects.count() == 200  # the table beside the chart adds up
    assert page.locator("svg rect").count() >= 6  # the chart is drawn on the server, no script needed
    expect(
        page.get_by_role("heading", name="Data subject requests")
    ).to_be_visible()  # waits for the page the click loads
    screenshot(page, "dashboard")
    context.close()
