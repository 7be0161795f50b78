"""The admin's second-factor pages (staff.second_factor holds the rules): asking for a code after
the password, setting up an authenticator app, recovery codes, and the officers' overview with the
reset of another member of staff's devices. Wired in config/urls.py through admin_view (staff only,
never cached, CSRF)."""

from __future__ import annotations

import segno
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from staff.second_factor import (
    ENROL,
    PER_USER,
    VERIFY,
    WINDOW_SECONDS,
    CodesLocked,
    CodesThrottled,
    devices_summary,
    recovery_codes_renew,
    second_factor_reset,
    second_factor_state,
    second_factor_step,
    second_factor_verify,
    totp_enrolment_confirm,
    totp_enrolment_start,
    totp_secret,
)

RESET_PERMISSION = "staff.reset_second_factor"


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "size": 12}),
    )


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def _context(request, title: str, **extra) -> dict:
    context = admin.site.each_context(request)
    if not (getattr(request.user, "is_verified", None) and request.user.is_verified()):
        # Not signed in yet: no list of what lies behind the sign-in.
        context.update(available_apps=[], is_nav_sidebar_enabled=False)
    return {**context, "title": title, "next": _next_url(request), **extra}


def _locked(request):
    response = render(request, "too_many_requests.html", {"minutes": WINDOW_SECONDS // 60}, status=429)
    response["Retry-After"] = str(WINDOW_SECONDS)
    return response


THROTTLED = "Wrong codes just now: wait a few seconds, then type the code your app shows."


def verify_view(request):
    """After the password: a code from the authenticator app, or a recovery code."""
    step = second_factor_step(request.user)
    if step is None:
        return redirect(_next_url(request))
    if step == ENROL:
        return redirect(reverse("second-factor-enrol"))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if second_factor_verify(request=request, code=form.cleaned_data["code"]):
                return redirect(_next_url(request))
            form.add_error(
                "code",
                f"That code is not right. After {PER_USER} wrong codes the sign-in is locked for "
                f"{WINDOW_SECONDS // 60} minutes.",
            )
        except CodesLocked:
            return _locked(request)
        except CodesThrottled:
            form.add_error("code", THROTTLED)
    return TemplateResponse(
        request,
        "admin/staff/second_factor_verify.html",
        _context(request, "Second factor", form=form, has_passkey=_has_passkey(request.user)),
        status=400 if form.errors else 200,
    )


def _has_passkey(user) -> bool:
    from django_otp_webauthn.models import WebAuthnCredential

    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def enrol_view(request):
    """Set up an authenticator app (QR code and key, confirmed by a code), then recovery codes
    shown once; once set up, new recovery codes on request."""
    user = request.user
    has_device, required = second_factor_state(user)
    if second_factor_step(user) == VERIFY:
        return redirect(f"{reverse('second-factor-verify')}?next={reverse('second-factor-enrol')}")
    if has_device:
        if request.method == "POST" and request.POST.get("action") == "codes":
            codes = recovery_codes_renew(user=user)
            return _codes_page(request, codes)
        return TemplateResponse(
            request,
            "admin/staff/second_factor_manage.html",
            _context(request, "Your second factor", summary=devices_summary(_users().filter(pk=user.pk))[0]),
        )
    device = totp_enrolment_start(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp_enrolment_confirm(request=request, code=form.cleaned_data["code"])
            return _codes_page(request, codes)
        except CodesLocked:
            return _locked(request)
        except CodesThrottled:
            form.add_error("code", THROTTLED)
        except ValidationError as error:
            form.add_error("code", error)
    qr = segno.make(device.config_url, error="m")
    return TemplateResponse(
        request,
        "admin/staff/second_factor_enrol.html",
        _context(
            request,
            "Set up your second factor",
            form=form,
            required=required,
            qr_svg=mark_safe(qr.svg_inline(scale=5, title="QR code for your authenticator app")),  # noqa: S308 (segno's own markup of our URL)
            secret=totp_secret(device),
        ),
        status=400 if form.errors else 200,
    )


def _codes_page(request, codes):
    return TemplateResponse(
        request,
        "admin/staff/second_factor_codes.html",
        _context(request, "Your recovery codes", codes=codes),
    )


def _users():
    return get_user_model().objects.filter(is_staff=True)


def staff_devices_view(request):
    """Officers: who has a second factor, and a reset for a lost one."""
    if not request.user.has_perm(RESET_PERMISSION):
        raise PermissionDenied
    return TemplateResponse(
        request,
        "admin/staff/second_factor_staff.html",
        _context(
            request,
            "Second factors of staff",
            members=devices_summary(_users().filter(is_active=True).order_by("username")),
            otp_required=settings.OTP_REQUIRED_FOR_OFFICERS,
        ),
    )


@require_POST
def reset_view(request, user_id: int):
    if not request.user.has_perm(RESET_PERMISSION):
        raise PermissionDenied
    member = get_object_or_404(_users(), pk=user_id)
    try:
        removed = second_factor_reset(request=request, member=member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Removed {removed} second-factor device(s) of {member.get_username()}; they set up a new one "
            "at their next sign-in. The access log records the reset.",
        )
    return redirect(reverse("second-factor-staff"))
