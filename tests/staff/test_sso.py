"""Single sign-on through OpenID Connect (issue 20, scope 9), against a real provider served on
loopback (tests/staff/oidc_provider.py): the browser's round trip through /admin/sso/login/, the
provider's authorize page and /admin/sso/callback/, with the token, userinfo and JWKS requests
made by mozilla-django-oidc over HTTP."""

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from staff import sso
from staff.models import AccessLogEntry, StaffIdentity
from staff.roles import AUDITOR, MARKETER, PRIVACY_OFFICER
from tests.factories import UserFactory
from tests.staff.oidc_provider import Provider

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
CONTACTS = "/admin/contacts/contact/"
ANN = {"sub": "idp-0001", "email": "ann@example.org", "given_name": "Ann", "groups": ["marketing"]}


@pytest.fixture
def idp(settings, roles):
    with Provider() as provider:
        settings.OIDC_RP_CLIENT_ID = provider.client_id
        settings.OIDC_RP_CLIENT_SECRET = provider.client_secret
        settings.OIDC_OP_DISCOVERY_URL = provider.discovery_url
        settings.OIDC_PROVIDER_NAME = "Example ID"
        settings.OIDC_ROLE_MAP = {"privacy": PRIVACY_OFFICER, "marketing": MARKETER, "audit": AUDITOR}
        sso._discovered.clear()
        yield provider
        sso._discovered.clear()


def sign_in(provider: Provider, person: dict, client: Client | None = None) -> tuple[Client, object]:
    """The browser's round trip: our login link, the provider's authorize, back to our callback."""
    client = client or Client()
    start = client.get("/admin/sso/login/")
    assert start.status_code == 302 and start["Location"].startswith(provider.issuer + "/authorize?")
    provider.person = person
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302
    return client, client.get(at_provider.headers["Location"])


def messages_of(client: Client) -> str:
    return client.get(LOGIN).content.decode()


def signed_in(client: Client) -> bool:
    return client.get(CONTACTS).status_code == 200


def test_the_login_page_offers_single_sign_on_only_when_configured(client, settings, idp):
    assert "Sign in with Example ID" in client.get(LOGIN).content.decode()
    settings.OIDC_RP_CLIENT_ID = ""
    assert "Sign in with" not in client.get(LOGIN).content.decode()
    assert client.get("/admin/sso/login/").status_code == 404
    assert client.get("/admin/sso/callback/?code=x&state=y").status_code == 404


def test_a_mapped_group_gives_its_role_at_every_sign_in(idp):
    client, response = sign_in(idp, ANN)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert signed_in(client)
    ann = get_user_model().objects.get(email="ann@example.org")
    assert list(ann.groups.values_list("name", flat=True)) == [MARKETER]
    assert ann.is_staff and not ann.has_usable_password() and "ann" not in ann.username
    assert StaffIdentity.objects.get(user=ann).subject == "idp-0001"
    entry = AccessLogEntry.objects.get(user=ann)
    assert entry.action == AccessLogEntry.Action.SSO_LOGIN

    # Moved to the audit team at the provider: the next sign-in makes her an auditor, only.
    client, _response = sign_in(idp, {**ANN, "groups": ["audit", "sales"]})
    assert list(ann.groups.values_list("name", flat=True)) == [AUDITOR]
    assert get_user_model().objects.filter(email="ann@example.org").count() == 1
    assert AccessLogEntry.objects.filter(user=ann, action="sso_login").count() == 2


def test_someone_in_no_mapped_group_is_refused_and_no_account_is_made(idp):
    client, response = sign_in(idp, {**ANN, "groups": ["sales", "everyone"]})
    assert response["Location"] == LOGIN
    page = messages_of(client)
    assert "Your account at Example ID is in no group that gives a role here." in page
    assert "ann@example.org" not in page and "sales" not in page
    assert not signed_in(client)
    assert not get_user_model().objects.filter(email="ann@example.org").exists()
    assert not StaffIdentity.objects.exists()


def test_a_member_who_left_the_mapped_groups_is_refused_and_it_is_logged(idp):
    sign_in(idp, ANN)
    ann = get_user_model().objects.get(email="ann@example.org")
    client, _response = sign_in(idp, {**ANN, "groups": []})
    assert not signed_in(client)
    refusal = AccessLogEntry.objects.get(user=ann, action=AccessLogEntry.Action.SSO_REFUSED)
    assert refusal.path == "/admin/sso/callback/?refused=no_role"


def test_an_address_changed_at_the_provider_cannot_take_over_another_account(idp, privacy_officer):
    StaffIdentity.objects.create(user=privacy_officer, issuer=idp.issuer, subject="idp-officer")
    # Someone else's account at the provider now carries the officer's address.
    intruder = {"sub": "idp-9999", "email": privacy_officer.email, "groups": ["privacy"]}
    client, response = sign_in(idp, intruder)
    assert response["Location"] == LOGIN
    assert "not linked to your Example ID account" in messages_of(client)
    assert not signed_in(client)
    assert not StaffIdentity.objects.filter(subject="idp-9999").exists()
    assert AccessLogEntry.objects.get(user=privacy_officer).path.endswith("refused=subject_mismatch")

    # The officer, matched by subject, signs in whatever address the provider now has.
    officer = {"sub": "idp-officer", "email": "new-address@example.org", "groups": ["privacy"]}
    client, _response = sign_in(idp, officer)
    assert client.session["_auth_user_id"] == str(privacy_officer.pk)


def test_an_existing_account_is_never_linked_by_address_alone(idp, marketer):
    client, _response = sign_in(idp, {"sub": "idp-7", "email": marketer.email, "groups": ["marketing"]})
    assert not signed_in(client)
    assert not StaffIdentity.objects.exists()
    assert AccessLogEntry.objects.get(user=marketer).path.endswith("refused=not_linked")


def test_userinfo_naming_another_subject_than_the_id_token_is_refused(idp):
    idp.userinfo_extra = {"sub": "idp-someone-else"}
    client, response = sign_in(idp, ANN)
    assert response["Location"] == LOGIN
    assert "The sign-in could not be verified." in messages_of(client)
    assert not signed_in(client)
    assert not get_user_model().objects.filter(email="ann@example.org").exists()


@pytest.mark.parametrize(
    "forged", [{"nonce": "not-this-sessions"}, {"aud": "another-app"}, {"iss": "http://127.0.0.1:1"}]
)
def test_an_id_token_with_a_forged_nonce_audience_or_issuer_is_refused(idp, forged):
    idp.id_token_extra = forged
    client, response = sign_in(idp, ANN)
    assert response["Location"] == LOGIN
    assert "The sign-in could not be verified." in messages_of(client)
    assert not signed_in(client)
    assert not get_user_model().objects.filter(email="ann@example.org").exists()


def test_a_tampered_state_or_a_callback_from_another_browser_is_refused(idp):
    client = Client()
    start = client.get("/admin/sso/login/")
    idp.person = ANN
    back = requests.get(start["Location"], allow_redirects=False, timeout=10).headers["Location"]
    tampered = back.replace("state=", "state=x")
    assert client.get(tampered)["Location"] == LOGIN
    assert "The sign-in could not be verified." in messages_of(client)
    assert not signed_in(client)
    # The provider's answer replayed in a browser that never started a sign-in.
    stranger = Client()
    assert stranger.get(back)["Location"] == LOGIN
    assert not signed_in(stranger)
    assert not get_user_model().objects.filter(email="ann@example.org").exists()


def test_a_password_sign_in_never_reaches_the_provider(idp, marketer):
    client = Client()
    response = client.post(
        LOGIN + "?code=x&state=y", {"username": "marketer", "password": "correct-horse-battery-staple"}
    )
    assert response.status_code == 302 and signed_in(client)
    assert not idp.codes and not idp.tokens


# --- the second factor -----------------------------------------------------------------------------


@pytest.fixture
def production(settings):
    settings.OTP_REQUIRED_FOR_OFFICERS = True
    return settings


OFFICER = {"sub": "idp-o", "email": "olga@example.org", "groups": ["privacy"]}


def test_an_officer_signing_in_through_the_provider_still_owes_the_second_factor(idp, production):
    client, response = sign_in(idp, {**OFFICER, "amr": ["pwd", "otp"]})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/")["Location"].startswith("/admin/second-factor/enrol/")
    assert client.get(CONTACTS).status_code == 302

    olga = get_user_model().objects.get(email="olga@example.org")
    TOTPDevice.objects.create(user=olga, name="Authenticator app", confirmed=True)
    client, _response = sign_in(idp, OFFICER)
    assert client.get("/admin/")["Location"].startswith("/admin/second-factor/")


def test_the_providers_second_factor_counts_only_when_trusted_and_stated(idp, production):
    production.OIDC_TRUST_IDP_MFA = True
    client, _response = sign_in(idp, {**OFFICER, "amr": ["pwd"]})
    assert client.get("/admin/")["Location"].startswith("/admin/second-factor/enrol/")
    client, _response = sign_in(idp, {**OFFICER, "amr": ["pwd", "otp"]})
    assert signed_in(client)


def test_the_role_map_is_checked_at_start_up(settings):
    settings.OIDC_ROLE_MAP = {"privacy": "Chief"}
    assert [e.id for e in sso.check_role_map()] == ["staff.E001"]
    settings.OIDC_ROLE_MAP = {}
    settings.OIDC_RP_CLIENT_ID = "consent-office"
    assert [e.id for e in sso.check_role_map()] == ["staff.E002"]


def test_a_user_created_by_sso_holds_no_personal_data_in_the_username(idp):
    sign_in(idp, ANN)
    assert UserFactory._meta.model.objects.get(email="ann@example.org").username.startswith("sso-")
