"""Bulk rectification in the back office: the upload page (officers: contacts.rectify_contact) and
the runs with their progress and report of refused rows (row, column, reason). The workbook is
exported from the contact list ("Export selected for correction")."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.progress import job_progress, progress_html, progress_response
from core.xlsx import xlsx_response
from imports.models import Rectification
from imports.rectification import PERMISSION, rectification_start
from staff.admin_tools import CappedCountPaginator, object_or_403

REPORT_PREVIEW_ROWS = 200


class RectificationForm(forms.Form):
    file = forms.FileField(
        label=_("Corrected Excel file"),
        help_text=_("The file “Export selected for correction” gave in the contact list, corrected."),
    )
    reason = forms.CharField(
        label=_("Reason for the corrections"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Kept in each corrected contact's history, e.g. “corrections from customer service, May”."
        ),
    )
    mode = forms.ChoiceField(
        label=_("If a row is refused"),
        choices=Rectification.Mode.choices,
        initial=Rectification.Mode.VALID_ROWS,
    )


@admin.register(Rectification)
class RectificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "file_name", "mode", "status", "progress", "applied_rows", "refused_rows")
    list_filter = ("status", "mode")
    list_select_related = ("created_by",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    fields = (
        "file_name",
        "reason",
        "mode",
        "status",
        "progress",
        "error",
        "total_rows",
        "applied_rows",
        "unchanged_rows",
        "refused_rows",
        "changes",
        "confirmations",
        "created_by",
        "created_at",
        "finished_at",
        "report",
    )
    readonly_fields = fields

    class Media:
        css = {"all": ("css/officer.css",)}
        js = ("js/job-progress.js",)

    def has_add_permission(self, request):
        return request.user.has_perm(PERMISSION)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = RectificationForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                run = rectification_start(
                    file=upload,
                    file_name=upload.name,
                    reason=form.cleaned_data["reason"],
                    mode=form.cleaned_data["mode"],
                    actor=request.user,
                )
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for name, errors in error.error_dict.items():
                        form.add_error(name if name in form.fields else None, errors)
                else:
                    form.add_error(None, error)
            else:
                messages.success(request, _("The corrections are queued; this page shows their progress."))
                return redirect("admin:imports_rectification_change", run.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Upload corrected contacts"),
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/imports/rectification_upload.html", context)

    @staticmethod
    def job_progress(run):
        return job_progress(
            status=run.status,
            label=run.get_status_display(),
            running=run.status in (Rectification.Status.QUEUED, Rectification.Status.RUNNING),
            done=run.total_rows if run.status == Rectification.Status.DONE else run.next_row,
            total=run.total_rows or 0,
            started_at=run.started_at,
        )

    @admin.display(description=_("progress"))
    def progress(self, run):
        url = reverse("admin:imports_rectification_progress", args=[run.pk])
        return progress_html(self.job_progress(run), url)

    def progress_view(self, request, object_id):
        return progress_response(
            self.job_progress(object_or_403(self, request, object_id, permission="view"))
        )

    @admin.display(description=_("refused rows"))
    def report(self, run):
        if not run.refused_rows:
            return "—"
        errors = run.row_errors.all()[:REPORT_PREVIEW_ROWS]
        url = reverse("admin:imports_rectification_report", args=[run.pk])
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", ((e.row, e.column, e.reason) for e in errors)
        )
        return format_html(
            '<p><a href="{}">{}</a></p><table><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
            '<th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>',
            url,
            _("Download report (XLSX)"),
            _("Row"),
            _("Column"),
            _("Reason"),
            body,
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/report/",
                self.admin_site.admin_view(self.report_view),
                name="imports_rectification_report",
            ),
            path(
                "<path:object_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="imports_rectification_progress",
            ),
            *super().get_urls(),
        ]

    def report_view(self, request, object_id):
        run = object_or_403(self, request, object_id, permission="view")
        rows = (
            run.row_errors.order_by("row", "id")
            .values_list("row", "column", "reason")
            .iterator(chunk_size=5000)
        )
        return xlsx_response(
            filename=f"rectification-{run.pk}-report.xlsx",
            title="Refused rows",
            header=["Row", "Column", "Reason"],
            rows=rows,
        )
