"""Optional single sign-on for staff through OpenID Connect (issue 20, scope 9), on
mozilla-django-oidc's authorization-code flow (state and nonce checked by it; RS256 ID tokens
checked against the provider's JWKS). Off unless OIDC_RP_CLIENT_ID is set.

What this module adds to the library, and why:
- The account is found by the provider's issuer and subject (StaffIdentity), never by email: an
  address changed at the provider cannot take over another member of staff's account. A first
  sign-in whose address belongs to an existing account is refused (an officer links the account
  in the admin); one whose address belongs to nobody creates the account.
- The ID token's issuer and audience are checked, and the userinfo answer must name the same
  subject as the ID token (OpenID Connect Core 5.3.2); the library checks neither.
- The provider's groups claim gives the roles (OIDC_ROLE_MAP), at every sign-in; a person in no
  mapped group is refused and no account is created.
- The second factor stays the product's (staff.second_factor): after the provider, a member of
  staff with a device is asked for a code, an officer without one sets one up. Only with
  OIDC_TRUST_IDP_MFA on does an ID token whose `amr` says a second factor was used count as one.
- Every sign-in and every refusal that can name a member of staff goes to the staff access log; a
  refusal that cannot (no account) is logged by reason code only, no claim of the provider.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from staff.roles import ROLES

logger = logging.getLogger(__name__)

# `amr` values (RFC 8176) that say the provider asked for more than a password.
MFA_METHODS = frozenset({"mfa", "otp", "hwk", "swk", "fpt", "face", "iris", "retina", "vbm", "sc", "pop"})
SESSION_MFA_KEY = "staff_sso_mfa_user"
DISCOVERY_SECONDS = 3600


def sso_enabled() -> bool:
    return bool(getattr(settings, "OIDC_RP_CLIENT_ID", ""))


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME


# --- the provider's endpoints ---------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str


_discovered: dict[str, tuple[float, Provider]] = {}
_lock = threading.Lock()


def provider() -> Provider:
    """The endpoints: from OIDC_OP_DISCOVERY_URL (fetched once an hour), else each from its own
    variable."""
    url = settings.OIDC_OP_DISCOVERY_URL
    if not url:
        return Provider(
            settings.OIDC_OP_ISSUER,
            settings.OIDC_OP_AUTHORIZATION_ENDPOINT,
            settings.OIDC_OP_TOKEN_ENDPOINT,
            settings.OIDC_OP_USER_ENDPOINT,
            settings.OIDC_OP_JWKS_ENDPOINT,
        )
    with _lock:
        cached = _discovered.get(url)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
    response.raise_for_status()
    document = response.json()
    found = Provider(
        document["issuer"],
        document["authorization_endpoint"],
        document["token_endpoint"],
        document["userinfo_endpoint"],
        document["jwks_uri"],
    )
    with _lock:
        _discovered[url] = (time.monotonic() + DISCOVERY_SECONDS, found)
    return found


# --- refusals ---------------------------------------------------------------------------------------


class Refused(SuspiciousOperation):
    """A sign-in the product refuses: `reason` is a code for the log, `message` what the person
    reads, `user` the member of staff it concerns, if one is known."""

    def __init__(self, reason: str, message: str, user=None):
        super().__init__(reason)
        self.reason, self.message, self.user = reason, message, user


def roles_from_claims(claims: dict) -> list[str]:
    """The product's roles the provider's groups give, through OIDC_ROLE_MAP."""
    groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    mapping = settings.OIDC_ROLE_MAP
    return sorted({mapping[g] for g in groups if isinstance(g, str) and g in mapping})


def idp_mfa(id_token_claims: dict) -> bool:
    amr = id_token_claims.get("amr") or []
    return isinstance(amr, list) and bool(MFA_METHODS & {m for m in amr if isinstance(m, str)})


# --- the backend --------------------------------------------------------------------------------------


class StaffOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, quiet while SSO is off and acting only for the callback
    view (which passes the nonce), so a password sign-in never reaches a provider."""

    def __init__(self, *args, **kwargs):
        self.UserModel = get_user_model()
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    def _configure(self) -> None:
        found = provider()
        self.issuer = found.issuer
        self.OIDC_OP_TOKEN_ENDPOINT = found.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = found.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = found.jwks_uri
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET

    def authenticate(self, request, **kwargs):
        if not sso_enabled() or request is None or "nonce" not in kwargs or "password" in kwargs:
            return None
        self._configure()
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.issuer and payload.get("iss") != self.issuer:
            raise Refused("wrong_issuer", _("The sign-in could not be verified. Start again."))
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise Refused("wrong_audience", _("The sign-in could not be verified. Start again."))
        if "nonce" in kwargs:  # the ID token (a signed userinfo answer has no nonce)
            self._id_claims = payload
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        try:
            return self._staff_user(self.get_userinfo(access_token, id_token, payload), payload)
        except Refused as refusal:
            # The library turns any refusal into "no user"; the callback view tells why.
            self.request.sso_refusal = refusal
            raise

    def _staff_user(self, claims: dict, id_claims: dict):
        subject = id_claims.get("sub")
        if not subject or claims.get("sub") != subject:
            raise Refused("subject_mismatch", _("The sign-in could not be verified. Start again."))
        from staff.models import StaffIdentity

        identity = (
            StaffIdentity.objects.select_related("user").filter(issuer=self.issuer, subject=subject).first()
        )
        user = identity.user if identity else None
        roles = roles_from_claims({**id_claims, **claims})
        if not roles:
            raise Refused(
                "no_role",
                _(
                    "Your account at %(provider)s is in no group that gives a role here. "
                    "Ask your administrator to add you to one."
                )
                % {"provider": provider_name()},
                user,
            )
        if user is None:
            user = self._first_sign_in(subject, claims)
        if not user.is_active:
            raise Refused("inactive", _("This account is switched off. Ask a privacy officer."), user)
        with transaction.atomic():
            _set_roles(user, roles)
            StaffIdentity.objects.filter(user=user, issuer=self.issuer).update(last_login_at=timezone.now())
        self.request.sso_mfa = idp_mfa(id_claims)
        return user

    def _first_sign_in(self, subject: str, claims: dict):
        """A subject seen for the first time: refused when its address is an existing account's
        (linking is a superuser's decision, in the admin), else a new staff account."""
        from staff.models import StaffIdentity

        email = str(claims.get("email") or "").strip()
        if email and (holder := self.UserModel.objects.filter(email__iexact=email).first()):
            linked = StaffIdentity.objects.filter(user=holder, issuer=self.issuer).exists()
            raise Refused(
                "subject_mismatch" if linked else "not_linked",
                _(
                    "An account here already has this address but is not linked to your %(provider)s "
                    "account. Ask an administrator to link them."
                )
                % {"provider": provider_name()},
                holder,
            )
        with transaction.atomic():
            user = self.UserModel(
                username=_username(self.issuer, subject),
                email=email,
                first_name=str(claims.get("given_name") or "")[:150],
                last_name=str(claims.get("family_name") or "")[:150],
                is_staff=True,
            )
            user.set_unusable_password()
            user.full_clean()
            user.save()
            StaffIdentity.objects.create(user=user, issuer=self.issuer, subject=subject)
        return user


def _username(issuer: str, subject: str) -> str:
    # No personal data in the username: a keyed hash of the provider's id.
    return "sso-" + salted_hmac("staff.sso", f"{issuer}|{subject}").hexdigest()[:20]


def _set_roles(user, roles: list[str]) -> None:
    """The roles the provider gives, and only those; groups that are not roles stay as they are."""
    current = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    wanted = set(roles)
    if current - wanted:
        user.groups.remove(*Group.objects.filter(name__in=current - wanted))
    if wanted - current:
        user.groups.add(*Group.objects.filter(name__in=wanted - current))


def check_role_map(app_configs=None, **kwargs) -> list:
    """System check: OIDC_ROLE_MAP names only the product's roles, and maps something when SSO is on."""
    from django.core.checks import Error

    unknown = sorted(set(settings.OIDC_ROLE_MAP.values()) - set(ROLES))
    errors = []
    if unknown:
        errors.append(
            Error(
                f"OIDC_ROLE_MAP names roles that do not exist: {', '.join(unknown)}.",
                hint=f"The roles are: {', '.join(ROLES)}.",
                id="staff.E001",
            )
        )
    if sso_enabled() and not settings.OIDC_ROLE_MAP:
        errors.append(
            Error(
                "Single sign-on is on but OIDC_ROLE_MAP is empty: everyone would be refused.",
                hint="e.g. OIDC_ROLE_MAP=privacy-team=Privacy officer,marketing=Marketer",
                id="staff.E002",
            )
        )
    return errors


def sso_mfa_satisfied(request) -> bool:
    """Whether this session's sign-in counts as having given a second factor at the provider."""
    return (
        settings.OIDC_TRUST_IDP_MFA
        and request.user.is_authenticated
        and request.session.get(SESSION_MFA_KEY) == request.user.pk
    )
