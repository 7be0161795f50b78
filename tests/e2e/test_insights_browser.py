"""The Insights tab of a contact's page (issue 25, scope 1) in Chromium, as a privacy officer."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from journeys.models import Interaction
from journeys.services import interaction_record
from tests.e2e.test_officer_queue_browser import _officer_page
from tests.factories import ContactFactory, with_consent
from tests.screenshots import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_officer_opens_the_insights_tab_and_reads_what_the_contact_did(
    browser, live_server, privacy_officer
):
    contact = with_consent(ContactFactory(first_name="Tilda"), level=4, tracking_allowed=True)
    now = timezone.now()
    interaction_record(
        contact=contact,
        kind=Interaction.Kind.PAGE_VISIT,
        at=now - timedelta(days=2),
        detail="https://shop.example.org/spring",
    )
    interaction_record(
        contact=contact,
        kind=Interaction.Kind.EVENT_ATTEND,
        at=now - timedelta(days=1),
        detail="Spring fair Berlin",
    )

    context, page = _officer_page(browser, live_server)
    page.goto(f"{live_server.url}/admin/contacts/contact/{contact.pk}/change/")
    page.get_by_role("link", name="Marketing insights").click()
    table = page.locator("#insights")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").first).to_contain_text("Event attended")
    expect(table.locator("tbody tr").first).to_contain_text("Spring fair Berlin")
    screenshot(page, "contact-marketing-insights")
    context.close()
