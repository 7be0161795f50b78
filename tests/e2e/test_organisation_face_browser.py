"""The organisation's face in a real browser (Chromium, no JavaScript on the page): its logo loads
from the logo view, its colour reaches the button, the links and the focus outline."""

import pytest
from django.core.files.base import ContentFile

from core.models import ComplianceSettings
from tests.images import image_bytes
from tests.screenshots import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_public_page_wears_the_organisations_logo_and_colour(page, live_server, settings):
    row = ComplianceSettings.load()
    row.organisation_name = "Contoso Ltd"
    row.brand_colour = "#6a1b9a"
    row.privacy_policy_url = "https://contoso.example/privacy"
    row.logo = ContentFile(image_bytes("PNG", (240, 80)), name="logo.png")
    row.full_clean()
    row.save()

    page.goto(live_server.url + "/preferences/")
    logo = page.locator("header img.logo")
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 240  # fetched and decoded
    assert page.locator("header .org").inner_text() == "Contoso Ltd"
    purple = "rgb(106, 27, 154)"
    button = page.get_by_role("button").first
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == purple
    policy = page.get_by_role("link", name="Privacy policy")
    assert policy.evaluate("a => getComputedStyle(a).color") == purple
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    assert focused.evaluate("e => getComputedStyle(e).outlineColor") == purple
    for width, name in ((420, "phone"), (1280, "desktop")):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"organisation-face-{name}")
