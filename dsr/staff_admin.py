"""The admin side of staff members' own data requests (dsr.staff_requests): the export of what the
system logged about a member of staff, and account deletion that pseudonymises instead of deleting.
Here rather than in staff/admin.py because it reads the logs of every app above staff."""

import io

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from core.xlsx import write_workbook_sheets
from dsr.staff_requests import LOGS_ARE_FACTS, staff_account_delete, staff_log_json, staff_log_sections

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class StaffLogForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.order_by("username"), label=_("Member of staff")
    )
    file_format = forms.ChoiceField(choices=[("json", "JSON"), ("xlsx", "Excel (XLSX)")], label=_("Format"))


def staff_logs_view(request):
    """A member of staff asks what the system logged about them (GDPR Art. 15)."""
    if not request.user.has_perm("staff.answer_staff_request"):
        raise PermissionDenied
    form = StaffLogForm(request.GET or None)
    if form.is_valid():
        user, file_format = form.cleaned_data["user"], form.cleaned_data["file_format"]
        name = f"logs-about-staff-{user.pk}"
        if file_format == "json":
            response = HttpResponse(staff_log_json(user), content_type="application/json")
            response["Content-Disposition"] = f'attachment; filename="{name}.json"'
            return response
        sections = staff_log_sections(user)
        buffer = io.BytesIO()
        write_workbook_sheets(
            buffer,
            (
                (
                    s["title"],
                    list(s["rows"][0]) if s["rows"] else ["(none)"],
                    (list(r.values()) for r in s["rows"]),
                )
                for s in sections
            ),
        )
        response = HttpResponse(buffer.getvalue(), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    context = {
        **admin.site.each_context(request),
        "title": _("What the system logged about a member of staff"),
        "form": form,
        "note": LOGS_ARE_FACTS,
    }
    return TemplateResponse(request, "admin/staff/staff_logs.html", context)


class StaffUserAdmin(UserAdmin):
    """Deleting a staff account pseudonymises it (dsr.staff_requests): logs keep adding up."""

    def get_deleted_objects(self, objs, request):
        # Nothing is deleted or blocked: the account becomes its pseudonym.
        return [str(o) for o in objs], {}, set(), []

    def delete_model(self, request, obj):
        staff_account_delete(user=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            staff_account_delete(user=user, actor=request.user)


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), StaffUserAdmin)
