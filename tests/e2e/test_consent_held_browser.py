""" "What did we hold on a given date?" in a real browser at 1280 px, on demo data: reached from the
contact's page, a date picked, the level and each purpose answer in force shown with the change
record that set it; screenshot for people in var/test/screenshots/consent-held.png."""

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from consent.held import consent_held_at
from contacts.models import Contact
from core.levels import ConsentLevel
from tests.e2e.admin_login import log_in
from tests.screenshots import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_officer_reads_the_consent_held_on_a_date_on_demo_data(browser, live_server):
    call_command("seed_demo", verbosity=0, force=True)
    contact = Contact.objects.filter(consent_given__gte=ConsentLevel.SUBSCRIPTIONS, is_child=False).first()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url, "officer", "demo-officer-2026")
    page.goto(f"{live_server.url}/admin/contacts/contact/{contact.pk}/change/")
    page.get_by_role("link", name="What did we hold on a given date?").click()
    page.get_by_label("Date").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Show").click()
    table = page.locator("#consent-held")
    expect(table).to_be_visible()  # waits for the page the click loads
    held = consent_held_at(contact, timezone.now())
    level_row = table.get_by_role("row", name="Consent level")
    expect(level_row).to_contain_text(held.level_words)
    expect(level_row).to_contain_text(f"#{held.level_record.pk}")
    # Fits the page at 1280 px: no horizontal scroll.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "consent-held")
    context.close()
