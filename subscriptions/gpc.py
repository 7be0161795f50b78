"""Global Privacy Control on every public page (CCPA regs §7025).

A request with `Sec-GPC: 1` opts the browser out of what the signal stands for (a signed cookie,
subscriptions.privacy_mark) and, when it comes within a subscription center visit (the session
the signed center link opened), the known contact too, recorded by the consent service with its
evidence. An unknown visitor's signal creates no contact. The staff side, the API and machine
endpoints are not public pages and are left alone.
"""

from __future__ import annotations

from django.utils import timezone

from consent.opt_outs import gpc_kinds
from contacts.models import Contact
from subscriptions.privacy_mark import marks_read, marks_write
from subscriptions.services.privacy_choices import gpc_opt_out
from subscriptions.services.records import RequestMeta

# Paths that are not public pages: the admin, the API, provider webhooks, static files.
NOT_PUBLIC = ("/admin/", "/api/", "/anymail/", "/static/", "/webhooks/", "/health")
# The session key the center's signed link sets (subscriptions.views.center_entry).
CENTER_SESSION_KEY = "subscription_center_contact"


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
            contact_id = request.session.get(CENTER_SESSION_KEY)
            contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
            if contact is not None:
                gpc_opt_out(contact=contact, meta=request_meta(request), page=request.path)
        response = self.get_response(request)
        if added:
            marks_write(response, request.privacy_marks)
        return response
