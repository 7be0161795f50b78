"""The admin in a real browser with JavaScript: it logs in and its widgets run under the CSP."""

import pytest

from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_officer_logs_in_and_the_contact_page_runs_without_csp_violations(
    browser, live_server, privacy_officer
):
    contact = ContactFactory(first_name="Holly")
    context = browser.new_context()
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("officer")
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/contacts/contact/{contact.pk}/change/")
    assert page.get_by_role("heading", name="Change contact").is_visible()
    # The guardian autocomplete is a script widget: it only renders when scripts may run.
    assert page.locator(".select2-container").count() >= 1
    assert [p for p in problems if "Content Security Policy" in p] == []
    context.close()
