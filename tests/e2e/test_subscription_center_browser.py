"""A contact uses the subscription center in a real browser (Chromium, no JavaScript)."""

from urllib.parse import urlparse

import pytest

from consent.models import Source
from consent.services import consent_change
from contacts.models import Contact
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services import center_link
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def holly(logging_on):
    newsletter = PurposeFactory(name="Newsletter", slug="newsletter", description="Our monthly news.")
    SubscriptionList.objects.create(
        name="Monthly news",
        slug="monthly-news",
        description="One email a month.",
        purpose=newsletter,
        min_level=3,
    )
    contact = ContactFactory(first_name="Holly", email="holly@contoso.com")
    consent_change(contact=contact, level=4, source=Source.IMPORT)
    return contact


def test_raise_consent_and_join_a_list_then_confirm_from_the_inbox(page, live_server, smtp, holly, settings):
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    page.goto(live_server.url + urlparse(center_link(contact=holly)).path)
    assert page.url == live_server.url + "/preferences/"  # the token left the address bar
    page.set_viewport_size({"width": 420, "height": 900})  # a phone
    page.screenshot(path=str(settings.VAR_DIR / "center-phone.png"), full_page=True)

    page.get_by_label("Profiling", exact=False).check()
    page.get_by_label("Monthly news", exact=False).check()
    page.get_by_role("button", name="Save my choices").click()
    assert "We sent an email to holly@contoso.com" in page.content()
    page.screenshot(path=str(settings.VAR_DIR / "center-saved.png"), full_page=True)

    holly.refresh_from_db()
    assert holly.consent_given == 4  # nothing widened before confirmation

    (link,) = smtp.links("holly@contoso.com")
    page.goto(live_server.url + urlparse(link).path)
    assert "Profiling" in page.content() and "Monthly news" in page.content()
    page.get_by_role("button", name="Yes, I confirm").click()
    assert page.get_by_role("heading", name="Thank you, confirmed").is_visible()

    holly.refresh_from_db()
    assert holly.consent_given == 5
    assert Subscription.objects.get(contact=holly).status == Subscription.Status.SUBSCRIBED


def test_lowering_by_keyboard_only_applies_at_once(page, live_server, holly):
    page.goto(live_server.url + urlparse(center_link(contact=holly)).path)
    page.get_by_label("Transactional", exact=False).focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Save my choices").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name="Your choices are saved").is_visible()
    holly.refresh_from_db()
    assert holly.consent_given == 2


def test_every_form_control_has_a_label(page, live_server, holly):
    page.goto(live_server.url + urlparse(center_link(contact=holly)).path)
    unlabeled = [
        element.get_attribute("name")
        for element in page.locator("input:not([type=hidden]), select, textarea").all()
        if not page.locator(f"label[for='{element.get_attribute('id')}']").count()
        and not element.evaluate("e => !!e.closest('label')")
    ]
    assert unlabeled == []


def test_signup_page_works_in_the_browser(page, live_server, smtp, holly):
    page.goto(live_server.url + "/lists/monthly-news/")
    page.get_by_label("Email").fill("nia@example.org")
    page.get_by_label("Yes, send me this list", exact=False).check()
    page.get_by_role("button", name="Subscribe").click()
    assert page.get_by_role("heading", name="Check your inbox").is_visible()
    assert Contact.objects.filter(email="nia@example.org").exists()
    assert smtp.links("nia@example.org")
