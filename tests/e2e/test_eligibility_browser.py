""" "Why is this contact (not) eligible?" in a real browser at 1280 px: reached from the contact's
page, a journey picked from the select, the verdict and the rules' words shown; screenshot for
people in var/test/screenshots/eligibility.png."""

import pytest
from playwright.sync_api import expect

from consent.models import Source
from consent.services import consent_change
from subscriptions.models import SubscriptionList
from subscriptions.services import subscription_set
from tests.e2e.admin_login import log_in
from tests.factories import ContactFactory, PurposeFactory, make_journey, with_consent
from tests.screenshots import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_officer_asks_why_a_contact_left_a_journey(
    browser, live_server, privacy_officer, logging_on, settings
):
    news = PurposeFactory(slug="newsletter", name="Newsletter")
    monthly = SubscriptionList.objects.create(name="Monthly news", slug="monthly", purpose=news)
    make_journey(subscription_list=monthly)
    contact = with_consent(ContactFactory(first_name="Holly"), level=4, purposes={news: True})
    consent_change(contact=contact, level=3, purposes={news: False}, source=Source.SUBSCRIPTION_CENTER)
    subscription_set(contact=contact, subscription_list=monthly, status="unsubscribed", source=Source.API)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/admin/contacts/contact/{contact.pk}/change/")
    page.get_by_role("link", name="Why is this contact (not) eligible?").click()
    page.get_by_label("Eligible for").select_option(label="Welcome")
    page.get_by_role("button", name="Explain").click()
    expect(page.get_by_role("heading", name="Not eligible — journey “Welcome”")).to_be_visible()
    table = page.locator("#eligibility-explanation")
    expect(table).to_contain_text("Unsubscribed from Monthly news on ")
    expect(table).to_contain_text("Level Subscriptions is below the Marketing that journey “Welcome” needs")
    expect(table).to_contain_text("Newsletter answered No on ")
    # Fits the page at 1280 px: no horizontal scroll.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "eligibility")
    context.close()
