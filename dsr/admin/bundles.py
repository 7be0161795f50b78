"""Export bundles in the back office: the review of a person's export before its release."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from core.ids import parse_id
from core.models import ComplianceSettings
from core.progress import job_progress, progress_html, progress_response
from dsr import bundles
from dsr.models import ExportBundle
from staff.access_log import record_access
from staff.admin_tools import CappedCountPaginator, object_or_403
from staff.models import AccessLogEntry


@admin.register(ExportBundle)
class ExportBundleAdmin(admin.ModelAdmin):
    """Review of a person's export: see every item, leave some out with a reason, confirm, release."""

    list_display = ("request", "status", "progress_display", "created_by", "created_at", "released_at")
    list_filter = ("status",)
    list_select_related = ("request", "created_by")
    paginator = CappedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # built from a request's page

    def has_delete_permission(self, request, obj=None):
        return False

    class Media:
        css = {"all": ("css/officer.css",)}
        js = ("js/job-progress.js",)  # keeps the bars of bundles being built moving

    @staticmethod
    def job_progress(bundle):
        return job_progress(
            status=bundle.status,
            label=bundle.get_status_display(),
            running=bundle.status in (ExportBundle.Status.QUEUED, ExportBundle.Status.BUILDING),
            done=bundle.progress,
            total=bundle.total,
            started_at=bundle.created_at,
        )

    @admin.display(description=_("progress"))
    def progress_display(self, obj):
        url = reverse("admin:dsr_exportbundle_progress", args=[obj.pk])
        return progress_html(self.job_progress(obj), url)

    def get_urls(self):
        progress = self.admin_site.admin_view(self.progress_view)
        return [
            path("<path:object_id>/progress/", progress, name="dsr_exportbundle_progress"),
            *super().get_urls(),
        ]

    def progress_view(self, request, object_id):
        """The build's progress as JSON for job-progress.js; whoever may see the bundle may see this."""
        return progress_response(
            self.job_progress(object_or_403(self, request, object_id, permission="view"))
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        bundle = object_or_403(self, request, object_id, permission="view")
        if request.method == "POST":
            if not self.has_change_permission(request, bundle):
                raise PermissionDenied
            if self._act(request, bundle) == "released":
                # Releasing answers the request: its page offers to complete it.
                return redirect("admin:dsr_datasubjectrequest_change", bundle.request_id)
            return redirect("admin:dsr_exportbundle_change", bundle.pk)
        ready = bundle.status in (ExportBundle.Status.REVIEW, ExportBundle.Status.RELEASED)
        if ready and not bundles.bundle_has_files(bundle):
            ready = False  # deleted by an erasure or after its use: the row stays as the record
            messages.info(request, _("The files of this bundle have been deleted; its record stays."))
        sections = bundles.bundle_sections(bundle, redacted=False) if ready else []
        hidden = {(r["section"], r["row"]) for r in bundle.redactions}
        for section in sections:
            section["columns"] = bundles.columns_of(section["rows"])
            section["items"] = [
                {
                    "index": i,
                    "values": [row.get(c) for c in section["columns"]],
                    "redacted": (section["section"], i) in hidden,
                }
                for i, row in enumerate(section["rows"])
            ]
        record_access(
            request=request,
            action=AccessLogEntry.Action.EXPORT_BUNDLE,
            contact_ids=list(bundle.request.contacts.values_list("pk", flat=True)),
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Export for %s") % bundle.request.reference,
            "opts": self.opts,
            "original": bundle,
            "sections": sections,
            "can_change": self.has_change_permission(request, bundle),
            "needs_second": ComplianceSettings.load().export_needs_second_officer,
            "progress": self.progress_display(bundle),
            "media": self.media,
        }
        return TemplateResponse(request, "admin/dsr/exportbundle/review.html", context)

    def _act(self, request, bundle):
        action = request.POST.get("action")
        try:
            if action == "redact":
                items = []
                for value in request.POST.getlist("item"):
                    section, _sep, row = value.rpartition(":")
                    if (number := parse_id(row)) is not None:
                        items.append((section, number))
                bundles.bundle_redact(
                    bundle=bundle, items=items, reason=request.POST.get("reason", ""), actor=request.user
                )
                messages.success(request, _("%d items left out.") % len(items))
            elif action == "approve":
                bundles.bundle_approve(bundle=bundle, actor=request.user)
                messages.success(request, _("Confirmed."))
            elif action == "release":
                bundles.bundle_release(bundle=bundle, actor=request.user)
                messages.success(
                    request,
                    _("Released: the requester has been sent the download link. Complete the request below."),
                )
                return "released"
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
