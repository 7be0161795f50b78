"""A contact uses the subscription center in a real browser (Chromium, no JavaScript)."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from consent.models import ConsentChange, Source
from consent.services import consent_change
from contacts.models import Contact
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services import center_link
from tests.conftest import wait_for
from tests.factories import ContactFactory, PurposeFactory
from tests.screenshots import screenshot

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


def test_raise_consent_and_join_a_list_then_confirm_from_the_inbox(
    page, live_server, smtp_server, celery_worker, holly, settings
):
    """The whole real path: browser → app → broker → Celery worker → SMTP → inbox → browser."""
    celery_worker.env.update(
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}", PUBLIC_BASE_URL=live_server.url
    )
    celery_worker.start()
    page.goto(live_server.url + urlparse(center_link(contact=holly)).path)
    assert page.url == live_server.url + "/preferences/"  # the token left the address bar
    for width, name in ((420, "phone"), (1280, "desktop")):  # artifacts for a person to look at
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"center-{name}")

    page.get_by_label("Profiling", exact=False).check()
    page.get_by_label("Monthly news", exact=False).check()
    page.get_by_role("button", name="Save my choices").click()
    # expect() waits for the page the click loads; reading page.content() at once raced it.
    expect(page.locator("body")).to_contain_text("We are sending an email to h***@contoso.com to confirm")
    holly.refresh_from_db()
    assert holly.consent_given == 4  # nothing widened before confirmation

    (link,) = wait_for(lambda: smtp_server.links("holly@contoso.com"), message="the confirmation email")
    assert link.startswith(live_server.url)
    page.goto(link)
    for width, name in ((420, "phone"), (1280, "desktop")):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"confirm-{name}")
    assert "Profiling" in page.content() and "Monthly news" in page.content()
    page.get_by_role("button", name="Yes, I confirm").click()
    expect(
        page.get_by_role("heading", name="Thank you, confirmed")
    ).to_be_visible()  # waits for the page the click loads

    holly.refresh_from_db()
    assert holly.consent_given == 5
    assert Subscription.objects.get(contact=holly).status == Subscription.Status.SUBSCRIBED
    record = ConsentChange.objects.filter(
        contact=holly, source=Source.DOUBLE_OPT_IN, field="consent_given"
    ).get()
    assert (record.old_value, record.new_value) == ("4", "5")
    assert record.evidence["user_agent"] and record.evidence["confirmation"]
    assert len(smtp_server.messages) == 1  # sent once


def test_lowering_by_keyboard_only_applies_at_once(page, live_server, holly):
    page.goto(live_server.url + urlparse(center_link(contact=holly)).path)
    page.get_by_label("Transactional", exact=False).focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Save my choices").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(
        page.get_by_role("heading", name="Your choices are saved")
    ).to_be_visible()  # waits for the page the click loads
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
    expect(
        page.get_by_role("heading", name="Check your inbox")
    ).to_be_visible()  # waits for the page the click loads
    assert Contact.objects.filter(email="nia@example.org").exists()
    assert smtp.links("nia@example.org")


def test_a_data_request_from_the_public_page_to_the_queue(page, live_server, smtp, settings):
    from dsr.models import DataSubjectRequest

    page.goto(f"{live_server.url}/requests/")
    page.get_by_label("Erase my data (forget me)").check()
    page.get_by_label("Your email address").fill("holly@contoso.com")
    screenshot(page, "request-form")
    page.get_by_role("button", name="Send request").click()
    expect(
        page.get_by_role("heading", name="Check your inbox")
    ).to_be_visible()  # waits for the page the click loads
    (link,) = [link for link in smtp.links("holly@contoso.com") if "/requests/confirm/" in link]
    page.goto(live_server.url + urlparse(link).path)
    page.get_by_role("button", name="Yes, this is my request").click()
    expect(page.get_by_role("heading", name="We have your request")).to_be_visible()
    request = DataSubjectRequest.objects.get()
    expect(page.get_by_text(request.reference)).to_be_visible()
    assert request.status == "verified"
