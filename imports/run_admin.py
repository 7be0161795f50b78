"""What the admin pages of row-by-row runs share (imports and bulk rectifications): a progress bar
that moves (core.progress), the first refused rows with a link to the whole report as XLSX."""

from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.progress import job_progress, progress_html, progress_response
from core.xlsx import xlsx_response
from staff.admin_tools import object_or_403

REPORT_PREVIEW_ROWS = 200


class RowRunAdminMixin:
    """For a run model with status, total_rows, next_row, started_at, refused_rows and row_errors
    (row, <report_key>, reason). Subclasses name the report's key column and its file."""

    report_key = "source_key"  # the row error's field shown beside the row number
    report_key_label = _("Key")
    report_key_header = "Key"  # the XLSX report's header stays English, like the other exports
    report_file = "run-{pk}-report.xlsx"

    class Media:
        css = {"all": ("css/officer.css",)}
        js = ("js/job-progress.js",)  # keeps the bars of running runs moving

    def _url_name(self, view: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    @staticmethod
    def job_progress(run):
        status = type(run).Status
        return job_progress(
            status=run.status,
            label=run.get_status_display(),
            running=run.status in (status.QUEUED, status.RUNNING),
            done=run.total_rows if run.status == status.DONE else run.next_row,
            total=run.total_rows or 0,
            started_at=run.started_at,
        )

    @admin.display(description=_("progress"))
    def progress(self, run):
        return progress_html(
            self.job_progress(run), reverse(f"admin:{self._url_name('progress')}", args=[run.pk])
        )

    def progress_view(self, request, object_id):
        """The run's progress as JSON for job-progress.js; whoever may see the run may see this."""
        return progress_response(
            self.job_progress(object_or_403(self, request, object_id, permission="view"))
        )

    @admin.display(description=_("refused rows"))
    def report(self, run):
        if not run.refused_rows:
            return "—"
        errors = run.row_errors.all()[:REPORT_PREVIEW_ROWS]
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.row, getattr(e, self.report_key), e.reason) for e in errors),
        )
        return format_html(
            '<p><a href="{}">{}</a></p><table><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
            '<th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>',
            reverse(f"admin:{self._url_name('report')}", args=[run.pk]),
            _("Download report (XLSX)"),
            _("Row"),
            self.report_key_label,
            _("Reason"),
            body,
        )

    def report_view(self, request, object_id):
        run = object_or_403(self, request, object_id, permission="view")
        rows = (
            run.row_errors.order_by("row", "id")
            .values_list("row", self.report_key, "reason")
            .iterator(chunk_size=5000)
        )
        return xlsx_response(
            filename=self.report_file.format(pk=run.pk),
            title="Refused rows",
            header=["Row", self.report_key_header, "Reason"],
            rows=rows,
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/report/",
                self.admin_site.admin_view(self.report_view),
                name=self._url_name("report"),
            ),
            path(
                "<path:object_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name=self._url_name("progress"),
            ),
            *super().get_urls(),
        ]
