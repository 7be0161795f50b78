"""A second factor for staff sign-in (issue 20): an authenticator app (TOTP), recovery codes and
passkeys, through django-otp and django-otp-webauthn (registering a passkey needs a signed-in
session: the authenticator app comes first).

After the password (the admin's login, with its own lockout), a member of staff who has a
confirmed device is asked for a code; a privacy officer or superuser without one, when
OTP_REQUIRED_FOR_OFFICERS is on, is sent to set one up. Until then the session reaches only the
second-factor pages: the admin redirects there, and anywhere else (the API's session
authentication) the session counts as nobody. API keys are unaffected: they never had a session.

Wrong codes are counted per member of staff like wrong passwords (config.login_throttle): the
fifth within the window locks the code form for the rest of it. The counter key is a keyed hash
of the user id, nothing readable.
"""

from __future__ import annotations

import hashlib
from base64 import b32encode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from staff.access_log import record_access
from staff.models import AccessLogEntry
from staff.roles import PRIVACY_OFFICER
from staff.sso import sso_mfa_satisfied

WINDOW_SECONDS = 15 * 60
PER_USER = 5  # wrong codes within the window, as for passwords
RECOVERY_CODES = 10
APP_NAME = "Authenticator app"
CODES_NAME = "Recovery codes"

VERIFY, ENROL = "verify", "enrol"


class CodesLocked(Exception):
    """Too many wrong codes: the form is locked for the rest of the window."""


def second_factor_state(user) -> tuple[bool, bool]:
    """(has a confirmed device, is required to have one), in one query."""
    if not (user and user.is_authenticated):
        return False, False
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            has_app=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            has_codes=Exists(StaticDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            has_passkey=Exists(WebAuthnCredential.objects.filter(user=OuterRef("pk"), confirmed=True)),
            officer=Exists(
                get_user_model().groups.through.objects.filter(
                    user_id=OuterRef("pk"), group__name=PRIVACY_OFFICER
                )
            ),
        )
        .values("has_app", "has_codes", "has_passkey", "officer")
        .first()
    )
    if row is None:
        return False, False
    required = settings.OTP_REQUIRED_FOR_OFFICERS and (user.is_superuser or row["officer"])
    return row["has_app"] or row["has_codes"] or row["has_passkey"], bool(required)


def second_factor_step(user) -> str | None:
    """What a signed-in user still owes: VERIFY (a code), ENROL (set up a device first) or None."""
    if getattr(user, "is_verified", None) and user.is_verified():
        return None
    has_device, required = second_factor_state(user)
    if has_device:
        return VERIFY
    return ENROL if required else None


class SecondFactorMiddleware:
    """After django_otp's OTPMiddleware: a session that owes a second factor reaches the admin's
    second-factor pages (and logout) only."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not sso_mfa_satisfied(request):
            step = second_factor_step(user)
            if step is not None:
                admin_root = reverse("admin:index")
                if not request.path_info.startswith(admin_root):
                    # Public pages as a visitor; the API's session authentication finds nobody.
                    request.user = AnonymousUser()
                elif request.path_info not in _open_paths():
                    target = reverse("second-factor-verify" if step == VERIFY else "second-factor-enrol")
                    query = urlencode({"next": request.path}) if request.method == "GET" else ""
                    return redirect(f"{target}?{query}" if query else target)
        return self.get_response(request)


def _open_paths() -> set[str]:
    return {
        reverse("admin:login"),
        reverse("admin:logout"),
        reverse("second-factor-verify"),
        reverse("second-factor-enrol"),
        # Proving a passkey is a way of giving the second factor; registering one is not open.
        reverse("otp_webauthn:credential-authentication-begin"),
        reverse("otp_webauthn:credential-authentication-complete"),
        reverse("otp_webauthn:js-i18n-catalog"),
    }


# --- wrong codes ------------------------------------------------------------------------------


def _failures_key(user) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:otp:{user.pk}".encode()).hexdigest()[:32]
    return f"otp:fail:{digest}"


def codes_locked(user) -> bool:
    return cache.get(_failures_key(user), 0) >= PER_USER


def _count_failure(user) -> None:
    key = _failures_key(user)
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    cache.incr(key)


def normalise_code(code: str) -> str:
    # Apps show "123 456"; recovery codes are printed lower case but may be typed in capitals.
    return "".join(str(code).split()).lower()


# --- services ---------------------------------------------------------------------------------


class CodesThrottled(Exception):
    """The device asks for a pause after a wrong code (django-otp's doubling delay)."""


def second_factor_verify(*, request, code: str) -> bool:
    """Check a code from the user's authenticator app or one of their recovery codes (used up by
    this); on success the session counts as verified. Raises CodesLocked after too many wrong ones,
    CodesThrottled while the device's own delay after a wrong code runs."""
    user = request.user
    if codes_locked(user):
        raise CodesLocked
    code = normalise_code(code)
    # Digits go to the app, anything else to the recovery codes: a code tried on the wrong kind
    # of device would count as a wrong code there and slow the right one down.
    model = TOTPDevice if code.isdigit() else StaticDevice
    matched = None
    if code and len(code) <= 16:
        with transaction.atomic():
            devices = model.objects.devices_for_user(user, confirmed=True).select_for_update()
            for device in devices:
                if not device.verify_is_allowed()[0]:
                    raise CodesThrottled
                if device.verify_token(code):
                    matched = device
                    break
    if matched is None:
        _count_failure(user)
        return False
    otp_login(request, matched)
    cache.delete(_failures_key(user))
    return True


def totp_enrolment_start(*, user) -> TOTPDevice:
    """The authenticator app being set up: one unconfirmed device, the same on every visit so a
    QR code already scanned stays good until the code confirms it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_NAME, confirmed=False)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The key as authenticator apps take it typed in: base32, in groups of four."""
    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@transaction.atomic
def totp_enrolment_confirm(*, request, code: str) -> list[str]:
    """Confirm the app being set up with a code it shows, sign the session in with it, and return
    fresh recovery codes (to be shown once). Raises ValidationError for a wrong code."""
    user = request.user
    if codes_locked(user):
        raise CodesLocked
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        raise ValidationError("The set-up has expired or is finished. Open the page again.")
    if not device.verify_is_allowed()[0]:
        raise CodesThrottled
    code = normalise_code(code)
    if not (code.isdigit() and len(code) == device.digits and device.verify_token(code)):
        _count_failure(user)
        raise ValidationError(
            "That code is not the one your app shows now. Check the app's clock and type the current six digits."
        )
    # One app per person: a new one replaces an old one.
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_renew(user=user)
    otp_login(request, device)
    cache.delete(_failures_key(user))
    return codes


@transaction.atomic
def recovery_codes_renew(*, user) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_CODES new ones (each works once)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=CODES_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def second_factor_reset(*, request, member) -> int:
    """Remove every second-factor device of another member of staff (a lost phone), recorded in
    the access log with who and when; they set up a new one at their next sign-in. Returns how many
    devices were removed."""
    if member.pk == request.user.pk:
        raise ValidationError(
            "You cannot reset your own second factor: ask another privacy officer, who checks it is you."
        )
    if not member.is_staff:
        raise ValidationError("Only members of staff have a second factor.")
    removed = 0
    for model in (TOTPDevice, StaticDevice, WebAuthnCredential):
        removed += model.objects.filter(user=member).delete()[1].get(model._meta.label, 0)
    record_access(request=request, action=AccessLogEntry.Action.SECOND_FACTOR_RESET, contact_ids=())
    return removed


def devices_summary(users):
    """Staff users annotated with has_app / codes_left for the officers' overview (no per-row query)."""
    from django.db.models import Count, IntegerField, Subquery
    from django.db.models.functions import Coalesce

    codes_left = (
        StaticToken.objects.filter(device__user=OuterRef("pk"))
        .values("device__user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    passkeys = (
        WebAuthnCredential.objects.filter(user=OuterRef("pk"), confirmed=True)
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return users.annotate(
        has_app=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
        codes_left=Coalesce(Subquery(codes_left, output_field=IntegerField()), 0),
        passkeys=Coalesce(Subquery(passkeys, output_field=IntegerField()), 0),
        officer=Exists(
            get_user_model().groups.through.objects.filter(
                user_id=OuterRef("pk"), group__name=PRIVACY_OFFICER
            )
        ),
    )
