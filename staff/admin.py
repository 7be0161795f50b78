from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import PeriodicTask
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnAttestation, WebAuthnCredential

from core.history_admin import FieldHistoryAdminMixin
from core.models import ComplianceSettings
from staff.admin_tools import CappedCountPaginator, ReadOnlyAdminMixin, XlsxExportMixin
from staff.models import AccessLogEntry, ApiKey, StaffIdentity

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


@admin.register(ApiKey)
class ApiKeyAdmin(FieldHistoryAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Which API clients exist, for whom, and their history (created, renamed, revoked). Keys are
    made and revoked with `manage.py api_key` (the key is shown once); the hash is never shown."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    fields = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields


# Devices are managed on the second-factor pages (staff.second_factor_views), never as raw rows:
# django-otp's own admins would show the keys and let a device be added behind the set-up.
for _model in (TOTPDevice, StaticDevice, WebAuthnCredential, WebAuthnAttestation):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(StaffIdentity)
class StaffIdentityAdmin(admin.ModelAdmin):
    """Which account at the identity provider signs in as which member of staff (staff.sso).
    Superusers only: a link opens the account to whoever holds the provider's account."""

    list_display = ("user", "issuer", "subject", "created_at", "last_login_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "subject")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "last_login_at")
