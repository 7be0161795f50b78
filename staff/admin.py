import io

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import PeriodicTask

from config.admin_tools import CappedCountPaginator, ReadOnlyAdminMixin, XlsxExportMixin
from config.xlsx import write_workbook_sheets
from consent.models import ComplianceSettings
from staff.models import AccessLogEntry
from staff.staff_requests import LOGS_ARE_FACTS, staff_account_delete, staff_log_json, staff_log_sections

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

MAX_IDS_IN_CELL = 2000  # an Excel cell holds 32,767 characters


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(ReadOnlyAdminMixin, XlsxExportMixin, admin.ModelAdmin):
    """Who looked at or exported whose data. Nobody can edit or delete entries here."""

    export_permission = "staff.export_accesslogentry"
    export_title = "Access log"
    list_display = ("at", "user", "action", "contact_count", "ip")
    list_filter = ("action", "user", ("at", admin.DateFieldListFilter))
    list_select_related = ("user",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    fields = ("at", "user", "action", "contact_count", "contact_ids", "ip", "request_id", "path")
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None):
        # "Who accessed this contact": the link from a contact's page filters by its id.
        return lookup == "contacts__contact__id__exact" or super().lookup_allowed(lookup, value, request)

    def get_queryset(self, request):
        return (
            super().get_queryset(request).distinct()
            if "contacts__contact__id__exact" in request.GET
            else super().get_queryset(request)
        )

    def changelist_view(self, request, extra_context=None):
        task = PeriodicTask.objects.filter(task="staff.purge_access_log").first()
        context = {
            "retention_days": ComplianceSettings.load().access_log_retention_days,
            "last_purge": task.last_run_at if task else None,
        }
        self.message_user(
            request,
            _("Entries are kept %(days)s days (compliance settings); the last purge ran %(when)s.")
            % {"days": context["retention_days"], "when": context["last_purge"] or _("not yet")},
        )
        return super().changelist_view(request, {**(extra_context or {}), **context})

    @admin.display(description=_("contact ids"))
    def contact_ids(self, entry):
        return _ids_text(entry)

    def export_header(self, request):
        return ["When", "User", "Action", "Contacts", "Contact IDs", "IP", "Request ID"]

    def export_rows(self, request, queryset):
        for entry in queryset.select_related("user").iterator(chunk_size=2000):
            yield [
                entry.at,
                entry.user.get_username(),
                entry.get_action_display(),
                entry.contact_count,
                _ids_text(entry),
                entry.ip,
                entry.request_id,
            ]


def _ids_text(entry) -> str:
    ids = list(entry.contacts.values_list("contact_id", flat=True)[: MAX_IDS_IN_CELL + 1])
    text = ", ".join(map(str, ids[:MAX_IDS_IN_CELL]))
    return text + (
        f" … (+{entry.contact_count - MAX_IDS_IN_CELL} more)" if len(ids) > MAX_IDS_IN_CELL else ""
    )


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
    """Deleting a staff account pseudonymises it (staff.staff_requests): logs keep adding up."""

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
