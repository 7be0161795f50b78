"""The compliance export of sends: for a period, each journey email (list mail included) with the
consent it relied on (journeys.SendConsent), as a streamed XLSX like every other export."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import ConsentChange
from core.levels import ConsentLevel
from core.xlsx import xlsx_response
from journeys.models import SendConsent
from reports.compliance_report import _bounds
from staff.access_log import record_access
from staff.models import AccessLogEntry

HEADER = [
    "Consent read at",
    "Sent at",
    "Send status",
    "Journey",
    "Step",
    "List",
    "Contact ID",
    "Level needed",
    "Level held",
    "Tracking held",
    "Purpose answers held",
    "Change records in force",
    "Records agree with the contact",
]
# Who may take it: who sees the dashboard and may export consent change records (officer, auditor).
PERMISSIONS = ("core.view_dashboard", "consent.export_consentchange")


def sends_in_period(since: dt.datetime, until: dt.datetime):
    """The period's send consent records, oldest first, with what the rows need (few queries per
    chunk, iterated: constant memory however many sends)."""
    return (
        SendConsent.objects.filter(held_at__gte=since, held_at__lt=until)
        .select_related(
            "step_run__step__template",
            "step_run__enrolment__journey",
            "step_run__enrolment__journey__subscription_list",
        )
        .prefetch_related(
            Prefetch(
                "records",
                queryset=ConsentChange.objects.select_related("purpose").order_by("recorded_at", "id"),
            )
        )
        .order_by("held_at", "id")
    )


def send_rows(sends):
    """One row per send, codes in words (levels by name, answers as Yes/No)."""
    levels = {level.value: f"{level.value} {level.label}" for level in ConsentLevel}
    for send in sends.iterator(chunk_size=1000):
        run = send.step_run
        journey = run.enrolment.journey
        answers = "; ".join(_answer(a) for a in send.answers)
        records = "; ".join(
            f"#{r.pk} {r.field_label}: {r.old_display} → {r.new_display} ({_moment(r.recorded_at)})"
            for r in send.records.all()
        )
        yield [
            send.held_at,
            run.done_at,
            run.get_status_display(),
            journey.name,
            str(run.step),
            journey.subscription_list.name if journey.subscription_list_id else "",
            send.contact_id if send.contact_id is not None else "erased",
            levels.get(send.needed_level, send.needed_level),
            levels.get(send.level, send.level),
            "Allow" if send.tracking_allowed else "Do not allow",
            answers,
            records,
            "Yes" if send.records_agree else "No (consent change records were off)",
        ]


def _answer(answer: dict) -> str:
    granted = answer.get("granted")
    words = "not answered" if granted is None else ("Yes" if granted else "No")
    record = f" (record #{answer['record']})" if answer.get("record") else ""
    return f"{answer.get('name', '')}: {words}{record}"


def _moment(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def send_consent_export(request):
    """GET ?start=&end= (the dashboard's report period): the XLSX, logged in the access log."""
    from reports.views import ReportPeriodForm

    if not all(request.user.has_perm(p) for p in PERMISSIONS):
        raise PermissionDenied
    form = ReportPeriodForm(request.GET)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("__all__", [])) or _("Choose the report's period."))
        return redirect("consent-dashboard")
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    since, until = _bounds(start, end)
    sends = sends_in_period(since, until)
    contact_ids = sends.exclude(contact=None).order_by().values_list("contact_id", flat=True).distinct()
    record_access(request=request, action=AccessLogEntry.Action.EXPORT_CONSENT, contact_ids=contact_ids)
    return xlsx_response(
        filename=f"sends-and-consent-{start}-{end}.xlsx",
        title="Sends and consent",
        header=HEADER,
        rows=send_rows(sends),
    )
