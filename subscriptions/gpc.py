"""Global Privacy Control on every public page (CCPA regs §7025).

A request with `Sec-GPC: 1` opts the browser out of what the signal stands for (a signed cookie,
subscriptions.privacy_mark) and, when it comes within a subscription center visit (the session
the signed center link opened) or carries a valid personal link of ours (center, confirmation,
unsubscribe, leave), the known contact too, recorded by the consent service with its evidence. An unknown visitor's signal creates no contact. The staff side, the API and machine
endpoints are not public pages and are left alone.
"""

from __future__ import annotations

from django.utils import timezone

from consent.opt_outs import gpc_kinds
from contacts.models import Contact
from subscriptions import tokens
from subscriptions.models import AccessToken
from subscriptions.privacy_mark import marks_read, marks_write
from subscriptions.services.privacy_choices import gpc_opt_out
from subscriptions.services.records import RequestMeta

# Paths that are not public pages: the admin, the API, provider webhooks, static files.
NOT_PUBLIC = ("/admin/", "/api/", "/anymail/", "/static/", "/webhooks/", "/health")
# The session key the center's signed link sets (subscriptions.views.center_entry).
CENTER_SESSION_KEY = "subscription_center_contact"
# The personal links (subscriptions.urls names) and the kind of token each carries.
LINK_KINDS = {
    "subscriptions:center-entry": AccessToken.Kind.CENTER,
    "subscriptions:confirm": AccessToken.Kind.CONFIRM,
    "subscriptions:unsubscribe": AccessToken.Kind.UNSUBSCRIBE,
    "subscriptions:unsubscribe-undo": AccessToken.Kind.UNSUBSCRIBE,
    "subscriptions:leave": AccessToken.Kind.LEAVE,
}


def request_meta(request) -> RequestMeta:
    return RequestMeta(ip=request.META.get("REMOTE_ADDR"), user_agent=request.META.get("HTTP_USER_AGENT", ""))


class GlobalPrivacyControlMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.gpc = request.headers.get("Sec-GPC") == "1" and not request.path.startswith(NOT_PUBLIC)
        request.privacy_marks = marks_read(request)
        added = {}
        if request.gpc:
            now = timezone.now()
            added = {kind: now for kind in gpc_kinds() if kind not in request.privacy_marks}
            request.privacy_marks = {**request.privacy_marks, **added}
        response = self.get_response(request)
        if added:
            marks_write(response, request.privacy_marks)
        return response

    def process_view(self, request, view, args, kwargs):
        """Before the page is built (so that it shows the opt-out): the known contact's opt-out."""
        if getattr(request, "gpc", False):
            contact = _known_contact(request, kwargs)
            if contact is not None:
                gpc_opt_out(contact=contact, meta=request_meta(request), page=request.path)


def _known_contact(request, kwargs) -> Contact | None:
    """The contact of the center visit under way, or of the valid personal link this page was
    opened with; None for an unknown visitor (and an expired or forged link)."""
    contact_id = request.session.get(CENTER_SESSION_KEY)
    if contact_id:
        return Contact.objects.filter(pk=contact_id).first()
    kind = LINK_KINDS.get(getattr(request.resolver_match, "view_name", ""))
    if kind is None or "token" not in kwargs:
        return None
    try:
        return tokens.resolve(kwargs["token"], kind=kind).contact
    except (tokens.InvalidLink, tokens.ExpiredLink):
        return None
