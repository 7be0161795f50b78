"""Marketing insights: a contact's interactions (opens, clicks, visits, form submissions, events)
on a page of their own beside the contact's, for the roles staff.roles.may_view_insights allows.

Shown only while the eligibility selector's tracking rule holds for the contact (their tracking
choice; never a child; never while restricted; ePrivacy Art. 5(3), GDPR Art. 8 and 18); otherwise
the page shows nothing and the access log records nothing, since nothing was seen.
"""

from __future__ import annotations

import re

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from consent.selectors import is_eligible
from contacts.models import Contact
from contacts.selectors import contacts_visible_to
from core.levels import ConsentLevel
from journeys.models import Interaction, StepRun
from staff.access_log import record_access
from staff.models import AccessLogEntry
from staff.roles import may_view_insights

SHOWN = 500  # the newest interactions on the page; older ones are counted, not listed
SEND = re.compile(r"^send (\d+)(?::\s*(.*))?$")


def insights_shown_for(contact: Contact) -> bool:
    """Whether a contact's interactions may be shown at all: the selector's tracking rule."""
    return is_eligible(contact, min_level=ConsentLevel.NONE, needs_tracking=True)


def contact_interactions(contact: Contact) -> tuple[list[dict], int]:
    """The contact's newest interactions as rows (kind, when, source, detail), and how many there are.

    An email's open or click names the journey and email it came from; the rest keep what was
    recorded with them (the page, the form, the event)."""
    interactions = Interaction.objects.filter(contact=contact).order_by("-at", "-pk")
    total = interactions.count()
    rows = list(interactions[:SHOWN])
    sends = {}
    for row in rows:
        if match := SEND.match(row.detail):
            sends[int(match.group(1))] = None
    for run in StepRun.objects.filter(pk__in=sends).select_related("step__journey", "step__template"):
        template = run.step.template
        sends[run.pk] = f"{run.step.journey.name} — {template.name}" if template else run.step.journey.name
    shown = []
    for row in rows:
        match = SEND.match(row.detail)
        if match:
            source = sends.get(int(match.group(1))) or _("an email no longer on record")
            detail = match.group(2) or ""
        else:
            source, detail = "", row.detail
        shown.append({"kind": row.get_kind_display(), "at": row.at, "source": source, "detail": detail})
    return shown, total


def contact_insights_view(request, object_id: int):
    """The Insights tab of a contact's page. Refused to roles without the grant; for a contact
    who may not be tracked it says only that there is nothing to show (which of the reasons
    applies would tell a marketer who is a child) and logs nothing."""
    if not may_view_insights(request.user):
        raise PermissionDenied
    # Restricted contacts reach only the roles that handle restrictions, here as everywhere.
    contact = contacts_visible_to(request.user, Contact.objects.all()).filter(pk=object_id).first()
    if contact is None:
        raise Http404
    opts = Contact._meta
    context = {
        **admin.site.each_context(request),
        "title": _("Marketing insights: %s") % contact,
        "subtitle": None,
        "opts": opts,
        "object": contact,
        "shown": False,
    }
    if insights_shown_for(contact):
        rows, total = contact_interactions(contact)
        context.update(shown=True, rows=rows, total=total, more=max(total - len(rows), 0))
        record_access(request=request, action=AccessLogEntry.Action.INSIGHTS, contact_ids=[contact.pk])
    return TemplateResponse(request, "admin/contacts/contact/insights.html", context)
