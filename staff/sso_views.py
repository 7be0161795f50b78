"""The single sign-on pages (staff.sso): /admin/sso/login/ sends the browser to the provider,
/admin/sso/callback/ takes it back. Both answer 404 while SSO is not configured. A refusal goes
back to the admin's login page with a message that says what to do and nothing about the
provider's answer."""

from __future__ import annotations

import logging

import requests
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from staff.access_log import record_access
from staff.models import AccessLogEntry
from staff.sso import SESSION_MFA_KEY, Refused, provider, provider_name, sso_enabled

logger = logging.getLogger(__name__)


class SsoLoginView(OIDCAuthenticationRequestView):
    def __init__(self, *args, **kwargs):  # the library reads the endpoints at start; here, per request
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        if not sso_enabled():
            raise Http404
        from django.conf import settings

        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider().authorization_endpoint
        except (requests.RequestException, ValueError, KeyError):
            logger.warning("sso: the provider's discovery document could not be read")
            messages.error(request, _("%(provider)s cannot be reached. Try again later.") % _names())
            return HttpResponseRedirect(reverse("admin:login"))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class SsoCallbackView(OIDCAuthenticationCallbackView):
    @property
    def success_url(self):
        return self.request.session.get("oidc_login_next") or reverse("admin:index")

    @property
    def failure_url(self):
        return reverse("admin:login")

    def get(self, request):
        if not sso_enabled():
            raise Http404
        try:
            return super().get(request)
        except Refused as refusal:
            return self._refuse(refusal)
        except SuspiciousOperation:
            # An unknown state, a nonce that is not this session's, a bad signature.
            return self._refuse(Refused("tampered", _("The sign-in could not be verified. Start again.")))
        except (requests.RequestException, ValueError, KeyError):
            logger.warning("sso: the provider did not answer as expected")
            return self._refuse(
                Refused("provider_error", _("%(provider)s cannot be reached. Try again later.") % _names())
            )

    def login_success(self):
        response = super().login_success()
        request = self.request
        if getattr(request, "sso_mfa", False):
            request.session[SESSION_MFA_KEY] = self.user.pk
        record_access(request=request, action=AccessLogEntry.Action.SSO_LOGIN, contact_ids=(), user=self.user)
        return response

    def login_failure(self):
        refusal = getattr(self.request, "sso_refusal", None)
        if refusal is None:
            if "error" in self.request.GET:
                refusal = Refused("provider_declined", _("%(provider)s did not sign you in.") % _names())
            elif "oidc_states" not in self.request.session:
                refusal = Refused("tampered", _("The sign-in could not be verified. Start again."))
            else:
                refusal = Refused("refused", _("Sign-in refused."))
        return self._refuse(refusal)

    def _refuse(self, refusal: Refused):
        request = self.request
        logger.warning("sso: sign-in refused (%s)", refusal.reason)
        if refusal.user is not None:
            record_access(
                request=request,
                action=AccessLogEntry.Action.SSO_REFUSED,
                contact_ids=(),
                user=refusal.user,
                path=f"{request.path}?refused={refusal.reason}",
            )
        messages.error(request, refusal.message)
        return HttpResponseRedirect(reverse("admin:login"))


def _names() -> dict:
    return {"provider": provider_name()}


def sso_login_context() -> dict:
    """For the admin's login page: the "Sign in with …" link, only while SSO is configured."""
    if not sso_enabled():
        return {}
    return {"sso_login_url": reverse("staff-sso-login"), "sso_provider_name": provider_name()}
