"""Bulk rectification in the back office: the upload page (officers: contacts.rectify_contact) and
the runs with their progress and report of refused rows (row, column, reason). The workbook is
exported from the contact list ("Export selected for correction")."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from imports.models import Rectification
from imports.rectification import PERMISSION, rectification_start
from imports.run_admin import RowRunAdminMixin
from staff.admin_tools import CappedCountPaginator


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
class RectificationAdmin(RowRunAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "file_name", "mode", "status", "progress", "applied_rows", "refused_rows")
    list_filter = ("status", "mode")
    list_select_related = ("created_by",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    report_key = "column"
    report_key_label = _("Column")
    report_key_header = "Column"
    report_file = "rectification-{pk}-report.xlsx"
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
