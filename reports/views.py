"""Admin pages of the consent app that are not a model's list or form."""

import tempfile

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from consent.audit_chain import audit_checkpoint_take, latest_checkpoint, verify_and_record
from core.db_router import replica_reads
from core.levels import level_choices
from reports import dashboard
from reports.compliance_report import compliance_report_pdf, compliance_report_write
from reports.processing_register import register_pdf, register_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _allowed(request) -> None:
    if not request.user.has_perm("core.view_dashboard"):
        raise PermissionDenied


def compliance_dashboard(request):
    _allowed(request)
    with replica_reads():  # aggregates a second behind are still the picture (core.db_router)
        figures = {
            "levels": dashboard.level_distribution(),
            "trend": dashboard.level_trend(),
            "purposes": dashboard.purpose_rates(),
            "doi": dashboard.double_opt_in(),
            **_request_figures(),
        }
    context = {
        **admin.site.each_context(request),
        "title": "Compliance dashboard",
        "level_names": [label for _value, label in level_choices()],
        "checkpoint": latest_checkpoint(),
        **figures,
        "report_form": ReportPeriodForm(
            initial={"start": timezone.localdate().replace(month=1, day=1), "end": timezone.localdate()}
        ),
    }
    return TemplateResponse(request, "admin/consent/dashboard.html", context)


def _request_figures() -> dict:
    # The dashboard spans the apps; these figures belong to dsr and journeys (imported here only).
    from dsr import dashboard as dsr_dashboard
    from journeys import dashboard as journeys_dashboard
    from mailsignals import dashboard as mail_dashboard

    return {
        "journeys": journeys_dashboard.journeys_live(),
        "exits": journeys_dashboard.exits_by_reason(),
        "interrupted_sends": journeys_dashboard.interrupted_sends(),
        "queue": dsr_dashboard.queue_now(),
        "completion": dsr_dashboard.days_to_complete_by_type(),
        "erasures": dsr_dashboard.erasures_and_restrictions_by_month(),
        "mail": mail_dashboard.rates_by_list(),
    }


class ReportPeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError(_("The period ends before it starts."))
        return cleaned


def compliance_report(request):
    """The compliance report for a period, as XLSX (reports.compliance_report)."""
    _allowed(request)
    form = ReportPeriodForm(request.GET)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("__all__", [])) or _("Choose the report's period."))
        return redirect("consent-dashboard")
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    as_pdf = request.GET.get("format") == "pdf"
    with tempfile.TemporaryFile() as handle, replica_reads():
        (compliance_report_pdf if as_pdf else compliance_report_write)(handle, start=start, end=end)
        handle.seek(0)
        content = handle.read()
    extension, content_type = ("pdf", "application/pdf") if as_pdf else ("xlsx", XLSX)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="compliance-report-{start}-{end}.{extension}"'
    return response


REGISTER_PERMISSION = "consent.export_processing_register"


def processing_register(request):
    """The records of processing (GDPR Art. 30) as XLSX, or PDF with ?format=pdf. Not written to
    the staff access log: the register names no contact (as the compliance report's copy)."""
    if not request.user.has_perm(REGISTER_PERMISSION):
        raise PermissionDenied
    as_pdf = request.GET.get("format") == "pdf"
    with tempfile.TemporaryFile() as handle:
        (register_pdf if as_pdf else register_xlsx)(handle)
        handle.seek(0)
        content = handle.read()
    extension, content_type = ("pdf", "application/pdf") if as_pdf else ("xlsx", XLSX)
    response = HttpResponse(content, content_type=content_type)
    filename = f"records-of-processing-{timezone.localdate():%Y-%m-%d}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
def verify_trail(request):
    _allowed(request)
    result = verify_and_record()
    if result.ok:
        # Anchor what was just verified: a later truncation of it is then found (consent.audit_chain).
        checkpoint = audit_checkpoint_take()
        messages.success(
            request,
            f"{result.summary()} Signed checkpoint #{checkpoint.pk} written for {checkpoint.length} records.",
        )
    else:
        messages.error(request, result.summary())
    return redirect("consent-dashboard")
