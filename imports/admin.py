from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.history_admin import FieldHistoryAdminMixin
from imports import rectification_admin, services  # noqa: F401 (rectification_admin registers itself)
from imports.models import ImportRun, ImportSource
from imports.run_admin import RowRunAdminMixin
from staff.admin_tools import (
    JSON_FORMFIELD_OVERRIDES,
    CappedCountPaginator,
    ReadOnlyAdminMixin,
    object_or_403,
)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("CSV, Excel or consent receipts (JSON-LD) file"))
    mode = forms.ChoiceField(
        label=_("If a row is refused"), choices=ImportRun.Mode.choices, initial=ImportRun.Mode.VALID_ROWS
    )


@admin.register(ImportSource)
class ImportSourceAdmin(FieldHistoryAdminMixin, admin.ModelAdmin):
    formfield_overrides = JSON_FORMFIELD_OVERRIDES
    list_display = ("name", "key_column", "email_column", "phone_column", "refresh_enabled", "upload_link")
    search_fields = ("name",)
    readonly_fields = ("upload_link",)
    fieldsets = (
        (None, {"fields": ("name", "upload_link")}),
        (
            _("Columns"),
            {
                "fields": (
                    "key_column",
                    "email_column",
                    "phone_column",
                    "option_column",
                    "value_column",
                    "date_column",
                    "level_column",
                    "last_action_column",
                )
            },
        ),
        (_("Rules"), {"fields": ("option_map", "unknown_options", "removed_consent", "create_contacts")}),
        (_("Nightly refresh"), {"fields": ("refresh_enabled", "refresh_path", "refresh_mode")}),
    )

    @admin.display(description=_("import"))
    def upload_link(self, source):
        if not source.pk:
            return "—"
        url = reverse("admin:imports_importsource_upload", args=[source.pk])
        return format_html('<a href="{}">{}</a>', url, _("Import a file…"))

    def get_urls(self):
        return [
            path(
                "<path:object_id>/upload/",
                self.admin_site.admin_view(self.upload_view),
                name="imports_importsource_upload",
            ),
            *super().get_urls(),
        ]

    def upload_view(self, request, object_id):
        source = object_or_403(
            self,
            request,
            object_id,
            permission=lambda req, _obj: req.user.has_perm("imports.add_importrun"),
        )
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                run = services.import_run_start(
                    source=source,
                    file=upload,
                    file_name=upload.name,
                    mode=form.cleaned_data["mode"],
                    actor=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("The import is queued; this page shows its progress."))
                return redirect("admin:imports_importrun_change", run.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a file from %s") % source,
            "opts": self.opts,
            "original": source,
            "form": form,
        }
        return TemplateResponse(request, "admin/imports/upload.html", context)


@admin.register(ImportRun)
class ImportRunAdmin(RowRunAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Runs are started from a source's upload page or by the nightly refresh; here they are watched."""

    list_display = (
        "created_at",
        "source",
        "file_name",
        "mode",
        "status",
        "progress",
        "applied_rows",
        "unchanged_rows",
        "refused_rows",
        "changes",
    )
    list_filter = ("status", "mode", "trigger", "source")
    list_select_related = ("source", "created_by")
    paginator = CappedCountPaginator
    show_full_result_count = False
    actions = ["resume"]
    report_file = "import-{pk}-report.xlsx"
    fields = (
        "source",
        "file_name",
        "mode",
        "trigger",
        "status",
        "progress",
        "error",
        "total_rows",
        "applied_rows",
        "unchanged_rows",
        "refused_rows",
        "changes",
        "withdrawn",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "attempts",
        "report",
    )
    readonly_fields = fields

    def has_resume_permission(self, request):
        return request.user.has_perm("imports.add_importrun")

    @admin.action(description=_("Resume the selected imports"), permissions=["resume"])
    def resume(self, request, queryset):
        resumed = 0
        for run in queryset:
            try:
                services.import_run_resume(run=run)
                resumed += 1
            except ValidationError as error:
                self.message_user(request, f"{run}: {' '.join(error.messages)}", messages.WARNING)
        self.message_user(request, _("%d imports queued again.") % resumed)
