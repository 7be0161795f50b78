"""The auditor's consent receipts of a period: every consent change record made in it, as one
TS 27560 receipt (JSON-LD) per line, streamed. For who may export consent change records
(officers and auditors); written to the staff access log like the Excel export."""

from __future__ import annotations

import datetime as dt
import json

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.receipts.serialize import receipt_records, receipts_of
from consent.selectors import consent_changes_visible_to
from staff.access_log import record_access
from staff.models import AccessLogEntry

EXPORT_PERMISSION = "consent.export_consentchange"


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            raise forms.ValidationError(_("The period must end on or after its first day."))
        return cleaned

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(self.cleaned_data["start"], dt.time(), zone)
        return start, dt.datetime.combine(self.cleaned_data["end"] + dt.timedelta(days=1), dt.time(), zone)


def receipts_export_view(model_admin, request):
    if not (model_admin.has_view_permission(request) and request.user.has_perm(EXPORT_PERMISSION)):
        raise PermissionDenied
    form = PeriodForm(request.GET or None)
    if not (form.is_bound and form.is_valid()):
        context = {
            **model_admin.admin_site.each_context(request),
            "title": _("Consent receipts of a period"),
            "opts": model_admin.opts,
            "form": form,
        }
        return TemplateResponse(
            request, "admin/consent/receipts_export.html", context, status=400 if form.is_bound else 200
        )
    start, end = form.bounds()
    records = consent_changes_visible_to(request.user).filter(recorded_at__gte=start, recorded_at__lt=end)
    record_access(
        request=request,
        action=AccessLogEntry.Action.EXPORT_CONSENT,
        contact_ids=records.exclude(contact=None)
        .order_by()
        .values_list("contact_id", flat=True)
        .distinct()
        .iterator(),
    )
    lines = (
        json.dumps(receipt, ensure_ascii=False) + "\n" for receipt in receipts_of(receipt_records(records))
    )
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
    name = f"consent-receipts-{form.cleaned_data['start']}-{form.cleaned_data['end']}.jsonl"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
