"""Staff sign-in's second factor (issue 20, scope 9): password, then a code from an authenticator
app or a recovery code; required for privacy officers and superusers when OTP_REQUIRED_FOR_OFFICERS
is on (the production default)."""

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from staff.api_auth import api_key_create
from staff.models import AccessLogEntry
from staff.second_factor import PER_USER, recovery_codes_renew
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
CONTACTS = "/admin/contacts/contact/"
VERIFY = "/admin/second-factor/"
ENROL = "/admin/second-factor/enrol/"


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.OTP_REQUIRED_FOR_OFFICERS = True
    return settings


def password_login(username: str, password: str = PASSWORD) -> Client:
    client = Client()
    response = client.post(reverse("admin:login"), {"username": username, "password": password})
    assert response.status_code == 302, response.content[:500]
    return client


def app_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def code_now(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_officer_is_refused_admin_pages_after_password_only_and_let_in_after_a_valid_code(
    production, privacy_officer
):
    device = app_for(privacy_officer)
    client = password_login("officer")
    for path in (CONTACTS, reverse("admin:index"), reverse("consent-dashboard")):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(VERIFY), path
    response = client.post(VERIFY, {"code": code_now(device), "next": CONTACTS})
    assert response.status_code == 302 and response["Location"] == CONTACTS
    assert client.get(CONTACTS).status_code == 200


def test_a_wrong_code_does_not_let_the_officer_in(production, privacy_officer):
    device = app_for(privacy_officer)
    client = password_login("officer")
    wrong = f"{(int(code_now(device)) + 1) % 1_000_000:06d}"
    response = client.post(VERIFY, {"code": wrong})
    assert response.status_code == 400 and b"That code is not right" in response.content
    assert b"Log out" in response.content  # the way out without a code
    assert b"Select contact to change" not in response.content and b"Contacts" not in response.content
    for code in ("", "abc", "1" * 200, "\u2603"):
        assert client.post(VERIFY, {"code": code}).status_code == 400
    assert client.get(CONTACTS).status_code == 302


def test_wrong_codes_lock_the_sign_in_like_wrong_passwords(production, privacy_officer, settings):
    device = app_for(privacy_officer)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # only the lockout of our own is measured here
    client = password_login("officer")
    for _ in range(PER_USER):
        assert (
            client.post(VERIFY, {"code": "000000" if code_now(device) != "000000" else "111111"}).status_code
            == 400
        )
    locked = client.post(VERIFY, {"code": code_now(device)})
    assert locked.status_code == 429 and locked["Retry-After"] == "900"
    assert client.get(CONTACTS).status_code == 302


def test_a_recovery_code_works_once(production, privacy_officer):
    app_for(privacy_officer)
    codes = recovery_codes_renew(user=privacy_officer)
    assert len(codes) == 10 and len(set(codes)) == 10
    first = password_login("officer")
    assert first.post(VERIFY, {"code": codes[0].upper()}).status_code == 302
    assert first.get(CONTACTS).status_code == 200
    again = password_login("officer")
    assert again.post(VERIFY, {"code": codes[0]}).status_code == 400
    assert again.get(CONTACTS).status_code == 302
    assert StaticToken.objects.filter(device__user=privacy_officer).count() == 9


def test_officer_without_a_device_must_enrol_with_a_qr_code_then_gets_recovery_codes(
    production, privacy_officer
):
    client = password_login("officer")
    response = client.get(CONTACTS)
    assert response.status_code == 302 and response["Location"].startswith(ENROL)
    page = client.get(ENROL)
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "QR code for your authenticator app" in html
    secret = re.search(r'id="second-factor-secret">([A-Z2-7 ]+)<', html).group(1)
    device = TOTPDevice.objects.get(user=privacy_officer, confirmed=False)
    assert secret.replace(" ", "") in device.config_url
    assert client.get(CONTACTS).status_code == 302  # not yet confirmed
    assert client.post(ENROL, {"code": "12345"}).status_code == 400
    confirmed = client.post(ENROL, {"code": code_now(device)})
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", confirmed.content.decode())
    assert confirmed.status_code == 200 and len(codes) == 10
    assert set(codes) == set(
        StaticToken.objects.filter(device__user=privacy_officer).values_list("token", flat=True)
    )
    assert client.get(CONTACTS).status_code == 200  # signed in by the confirming code
    # Shown once: the page now only counts them.
    again = client.get(ENROL).content.decode()
    assert "Recovery codes left: 10" in again and codes[0] not in again


def test_an_officer_resets_another_members_devices_and_the_access_log_records_it(
    production, privacy_officer, marketer
):
    app_for(privacy_officer)
    app_for(marketer)
    recovery_codes_renew(user=marketer)
    client = password_login("officer")
    client.post(VERIFY, {"code": code_now(TOTPDevice.objects.get(user=privacy_officer))})
    overview = client.get(reverse("second-factor-staff"))
    assert overview.status_code == 200 and b"Reset marketer" in overview.content
    url = reverse("second-factor-reset", args=[marketer.pk])
    assert client.get(url).status_code == 405  # a reset is a POST, with CSRF
    response = client.post(url)
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=marketer).exists()
    assert not StaticDevice.objects.filter(user=marketer).exists()
    entry = AccessLogEntry.objects.get(action=AccessLogEntry.Action.SECOND_FACTOR_RESET)
    assert entry.user == privacy_officer and entry.at and entry.path == url
    # The marketer (second factor optional) now signs in with the password alone.
    assert password_login("marketer").get(CONTACTS).status_code == 200


def test_an_officer_cannot_reset_their_own_second_factor_and_other_roles_cannot_reset(
    production, privacy_officer, marketer, auditor, client_as
):
    app_for(privacy_officer)
    client = password_login("officer")
    client.post(VERIFY, {"code": code_now(TOTPDevice.objects.get(user=privacy_officer))})
    client.post(reverse("second-factor-reset", args=[privacy_officer.pk]))
    assert TOTPDevice.objects.filter(user=privacy_officer).exists()
    assert not AccessLogEntry.objects.filter(action=AccessLogEntry.Action.SECOND_FACTOR_RESET).exists()
    assert client.post(reverse("second-factor-reset", args=[999_999])).status_code == 404
    for user in (marketer, auditor):
        other = client_as(user)
        assert other.post(reverse("second-factor-reset", args=[privacy_officer.pk])).status_code == 403
        assert other.get(reverse("second-factor-staff")).status_code == 403
    assert TOTPDevice.objects.filter(user=privacy_officer).exists()


def test_a_marketer_may_enrol_and_is_then_asked_for_the_code(production, marketer):
    assert password_login("marketer").get(CONTACTS).status_code == 200  # optional for marketers
    device = app_for(marketer)
    client = password_login("marketer")
    assert client.get(CONTACTS)["Location"].startswith(VERIFY)
    client.post(VERIFY, {"code": code_now(device)})
    assert client.get(CONTACTS).status_code == 200


def test_a_password_only_session_reads_nothing_from_the_api_but_api_keys_work(production, privacy_officer):
    app_for(privacy_officer)
    client = password_login("officer")
    assert client.get("/api/v1/contacts/").status_code in (401, 403)
    _key, text = api_key_create(user=privacy_officer, name="sync")
    assert Client(HTTP_AUTHORIZATION=f"Token {text}").get("/api/v1/contacts/").status_code == 200


def test_superuser_needs_a_second_factor_too(production, roles):
    UserFactory(username="root", is_superuser=True)
    assert password_login("root").get(CONTACTS)["Location"].startswith(ENROL)


def test_the_setting_is_off_by_default_with_debug_on_and_can_be_switched_off_in_production():
    def read(**env):
        code = "import django; django.setup(); from django.conf import settings; print(settings.OTP_REQUIRED_FOR_OFFICERS)"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "x" * 50,
            "ALLOWED_HOSTS": "example.org",
            **env,
        }
        if "OTP_REQUIRED_FOR_OFFICERS" not in env:
            environment.pop("OTP_REQUIRED_FOR_OFFICERS", None)
        run = subprocess.run(
            [sys.executable, "-c", code],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
            cwd=django_settings.BASE_DIR,
        )
        return run.stdout.strip()

    assert read(DEBUG="true") == "False"
    assert read(DEBUG="false") == "True"
    assert read(DEBUG="false", OTP_REQUIRED_FOR_OFFICERS="false") == "False"


def test_demo_logins_work_without_a_second_factor_in_debug(settings):
    from demo.seed import DEMO_USERS, ensure_users

    settings.DEBUG = True
    settings.OTP_REQUIRED_FOR_OFFICERS = False  # what DEBUG=true gives by default (test above)
    ensure_users()
    for username, (_role, password) in DEMO_USERS.items():
        assert password_login(username, password).get(CONTACTS).status_code == 200, username


def test_totp_codes_from_the_past_minute_are_not_reused(production, privacy_officer):
    device = app_for(privacy_officer)
    code = code_now(device)
    assert password_login("officer").post(VERIFY, {"code": code}).status_code == 302
    replay = password_login("officer")
    assert replay.post(VERIFY, {"code": code}).status_code == 400


def test_a_password_only_session_cannot_register_a_passkey_but_may_start_proving_one(
    production, privacy_officer
):
    app_for(privacy_officer)
    client = password_login("officer")
    register = client.post(
        reverse("otp_webauthn:credential-registration-begin"), content_type="application/json"
    )
    assert register.status_code == 302 and register["Location"].startswith(VERIFY)
    assert "otp_webauthn_register_state" not in client.session
    # Proving a passkey is a way to give the second factor: that endpoint stays open.
    begin = client.post(
        reverse("otp_webauthn:credential-authentication-begin"), content_type="application/json"
    )
    assert begin.status_code == 200
