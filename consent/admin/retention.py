"""The retention preview: per purpose and list, how many consents lapse and how many contacts would
be erased in the next 30 and 90 days (consent.retention computes it; the job that acts uses the
same code), with the list of those people as an Excel file for officers, and the job's last runs."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import RetentionRun
from consent.retention import HORIZONS, retention_due_rows, retention_preview
from contacts.models import Contact
from core.xlsx import xlsx_response

VIEW_PERMISSION = "consent.view_retention"
EXPORT_PERMISSION = "contacts.export_contact"
RUNS_SHOWN = 10


def retention_preview_view(model_admin, request):
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Retention: what lapses and who is erased"),
        "previews": retention_preview(),
        "horizons": HORIZONS,
        "can_export": request.user.has_perm(EXPORT_PERMISSION),
        "runs": RetentionRun.objects.order_by("-started_at")[:RUNS_SHOWN],
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/consent/retention_preview.html", context)


def retention_export_view(model_admin, request):
    """The people behind the figures (90 days): personal data, so only for who may export contacts."""
    if not (request.user.has_perm(VIEW_PERMISSION) and request.user.has_perm(EXPORT_PERMISSION)):
        raise PermissionDenied
    what = {"lapse": _("Consent lapses"), "erase": _("Contact erased")}
    rows = (
        [
            str(kind.label),
            str(record),
            str(what[action]),
            contact.pk,
            Contact.label(contact.pk, contact.first_name, contact.last_name, contact.email, contact.phone),
            contact.email,
            contact.last_action_at,
            when,
        ]
        for kind, record, contact, action, when in retention_due_rows()
    )
    header = [
        _("Kind"),
        _("Purpose or list"),
        _("What happens"),
        _("Contact ID"),
        _("Contact"),
        _("Email"),
        _("Last action by the person"),
        _("Lapses on"),
    ]
    return xlsx_response(
        filename=f"retention-{timezone.localdate():%Y-%m-%d}.xlsx",
        title=_("Retention"),
        header=header,
        rows=rows,
    )
