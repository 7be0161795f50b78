"""In Chromium, without JavaScript: the center shows what waits for confirmation and sends it
again on request; leaving a list offers an undo that asks by email."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from consent.models import Source
from consent.services import consent_change
from subscriptions.models import ConsentRequest, Subscription, SubscriptionList
from subscriptions.services import center_link
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def holly(logging_on):
    newsletter = PurposeFactory(name="Newsletter", slug="newsletter")
    news = SubscriptionList.objects.create(name="Monthly news", slug="monthly-news", purpose=newsletter)
    contact = ContactFactory(first_name="Holly", email="holly@contoso.com")
    consent_change(contact=contact, level=4, purposes={"newsletter": True}, source=Source.IMPORT)
    Subscription.objects.create(contact=contact, subscription_list=news, status="subscribed", source="import")
    return contact


def test_waiting_raise_send_again_and_undo_of_a_left_list(page, live_server, smtp, holly, settings):
    page.goto(live_server.url + urlparse(center_link(contact=holly)).path)
    page.get_by_label("Profiling", exact=False).check()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_role("heading", name="Please confirm from your inbox")).to_be_visible()

    page.get_by_role("link", name="Back to your subscription center").click()
    expect(page.get_by_role("heading", name="Waiting for your confirmation")).to_be_visible()
    expect(page.get_by_text("h***@contoso.com")).to_be_visible()
    page.get_by_role("button", name="Send the email again").click()
    expect(page.get_by_text("we did not send it again yet")).to_be_visible()  # sent minutes ago
    assert len(smtp.messages) == 1

    page.get_by_label("Monthly news", exact=False).uncheck()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_text("You left “Monthly news”.")).to_be_visible()
    page.get_by_role("button", name="Undo: join “Monthly news” again").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert Subscription.objects.get(contact=holly).status == Subscription.Status.PENDING
    assert ConsentRequest.objects.count() == 2 and len(smtp.messages) == 2
