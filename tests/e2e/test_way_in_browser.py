"""Someone who only knows their address finds their way into the subscription center, in a real
browser (Chromium, no JavaScript), through the broker, a Celery worker and real SMTP."""

import pytest

from consent.models import Source
from consent.services import consent_change
from core.models import ComplianceSettings
from tests.conftest import wait_for
from tests.factories import ContactFactory
from tests.screenshots import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_ask_for_my_link_by_address_then_open_the_center_from_the_inbox(
    page, live_server, smtp_server, celery_worker, logging_on, settings
):
    holly = ContactFactory(first_name="Holly", email="holly@contoso.com")
    consent_change(contact=holly, level=3, source=Source.IMPORT)
    organisation = ComplianceSettings.load()
    organisation.organisation_name = "Contoso Ltd"
    organisation.privacy_contact_email = "privacy@contoso.example"
    organisation.save()
    celery_worker.env.update(
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}", PUBLIC_BASE_URL=live_server.url
    )
    celery_worker.start()

    page.goto(live_server.url + "/preferences/")
    assert "Responsible for your data: Contoso Ltd" in page.content()
    for width, name in ((420, "phone"), (1280, "desktop")):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"way-in-{name}")
    page.get_by_label("Your email address").fill("holly@contoso.com")
    page.keyboard.press("Enter")  # the keyboard alone submits it
    page.get_by_role("heading", name="Check your inbox").wait_for()
    assert "/preferences/link/" in page.url and "holly" not in page.url
    screenshot(page, "way-in-sent")

    (link,) = wait_for(lambda: smtp_server.links("holly@contoso.com"), message="the email with the link")
    assert link.startswith(live_server.url)
    page.goto(link)
    assert page.url == live_server.url + "/preferences/"  # the token left the address bar
    assert page.get_by_label("First name").input_value() == "Holly"
    assert len(smtp_server.messages) == 1
