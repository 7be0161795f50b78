"""The queue's folded preview of a request (issue 25, scope 6) in Chromium at 1280 px: closed, the
queue still fits without scrolling sideways; opened, the officer reads the requester's comment and
follows the link to the linked contact."""

import pytest
from playwright.sync_api import expect

from dsr.models import DataSubjectRequest
from tests.e2e.test_officer_queue_browser import _officer_page, _queue
from tests.factories import ContactFactory
from tests.screenshots import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

COMMENT = "Please correct my postal address: it is Elm Street 5 since March, not Oak Lane 12."


def test_the_preview_opens_on_the_comment_and_leads_to_the_contact(browser, live_server, privacy_officer):
    made = _queue(privacy_officer)
    contact = ContactFactory(first_name="Holly", last_name="Hart")
    request = made[1]  # the overdue one, on top of the queue
    DataSubjectRequest.objects.filter(pk=request.pk).update(details=COMMENT)
    request.contacts.add(contact)

    context, page = _officer_page(browser, live_server)
    page.goto(f"{live_server.url}/admin/dsr/datasubjectrequest/")
    row = page.locator("#result_list tr", has_text=request.reference)
    expect(row.get_by_text(COMMENT)).to_be_hidden()  # folded: the columns keep their room
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

    row.get_by_text("Comment and contacts").click()
    expect(row.get_by_text(COMMENT)).to_be_visible()
    screenshot(page, "request-queue-preview")
    row.get_by_role("link", name=f"#{contact.pk}").click()
    expect(page).to_have_url(f"{live_server.url}/admin/contacts/contact/{contact.pk}/change/")
    expect(page.get_by_role("heading", name="Holly Hart")).to_be_visible()
    context.close()
