"""Staff sign-in with a second factor in a real browser at 1280 px, production settings (issue 20)."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.e2e.admin_login import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def _code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.OTP_REQUIRED_FOR_OFFICERS = True


def test_officer_signs_in_with_totp_and_is_refused_without_it(
    browser, live_server, production, privacy_officer
):
    device = TOTPDevice.objects.create(user=privacy_officer, name="Authenticator app", confirmed=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    log_in(page, live_server.url)
    expect(page.get_by_label("Code")).to_be_visible()
    # Password only: the contacts are out of reach, the browser lands on the code form again.
    page.goto(f"{live_server.url}/admin/contacts/contact/")
    expect(page).to_have_url(re.compile(r"/admin/second-factor/\?next="))
    expect(page.get_by_role("heading", name="Select contact to change")).to_have_count(0)
    page.get_by_label("Code").fill("000000" if _code(device) != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    page.wait_for_timeout(1100)  # django-otp asks for a second's pause after a wrong code
    page.get_by_label("Code").fill(_code(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Select contact to change")).to_be_visible()
    assert [p for p in problems if "Content Security Policy" in p] == []
    context.close()


def test_officer_without_a_device_sets_one_up_from_the_qr_page(
    browser, live_server, production, privacy_officer
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server.url)
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    expect(page.locator(".second-factor-qr svg")).to_be_visible()
    device = TOTPDevice.objects.get(user=privacy_officer, confirmed=False)
    page.get_by_label("Code").fill(_code(device))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them, continue").click()
    expect(page.get_by_role("heading", name="Privacy back office")).to_be_visible()
    context.close()


def test_officer_adds_a_passkey_and_signs_in_with_it_instead_of_the_code(
    browser, live_server, production, privacy_officer, settings
):
    from django_otp_webauthn.models import WebAuthnCredential

    # Passkeys are bound to a domain, never an IP address: the browser goes to localhost.
    base = live_server.url.replace("127.0.0.1", "localhost")
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [base]
    device = TOTPDevice.objects.create(user=privacy_officer, name="Authenticator app", confirmed=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    log_in(page, base)
    page.get_by_label("Code").fill(_code(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Privacy back office")).to_be_visible()
    page.goto(f"{base}/admin/second-factor/enrol/")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#passkey-register-status-message")).not_to_be_empty()
    assert WebAuthnCredential.objects.filter(user=privacy_officer, confirmed=True).count() == 1
    # A new sign-in: the password, then the passkey instead of the code.
    page.get_by_role("button", name="Log out").click()
    log_in(page, base)
    page.goto(f"{base}/admin/contacts/contact/")
    expect(page).to_have_url(re.compile(r"/admin/second-factor/\?next="))
    page.get_by_role("button", name="Use a passkey instead").click()
    expect(page.get_by_role("heading", name="Select contact to change")).to_be_visible()
    assert [p for p in problems if "Content Security Policy" in p] == []
    context.close()
