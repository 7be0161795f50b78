"""The compliance settings (one row) and the daily consent level snapshots in the back office."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from consent.models import ConsentLevelSnapshot
from core.history_admin import FieldHistoryAdminMixin
from core.levels import level_label
from core.models import ComplianceSettings
from staff.admin_tools import ReadOnlyAdminMixin


def _settings_fields() -> list[str]:
    """Every field an officer may set: the concrete editable fields of ComplianceSettings."""
    return [f.name for f in ComplianceSettings._meta.concrete_fields if f.editable and not f.primary_key]


# Themes for the form; a field not named here still appears, under "Other settings", so a new
# setting can never be missing from the admin (tests/consent/test_admin.py walks the model).
_SETTINGS_THEMES = (
    (_("Data-protection tools"), ("data_protection_tools_enabled",)),
    (
        _("Consent"),
        (
            "log_consent_changes",
            "min_consent_level_selection_enabled",
            "email_level_opt_out",
            "double_opt_in_expiry_hours",
            "age_of_consent",
        ),
    ),
    (
        _("Data subject requests"),
        (
            "request_response_days",
            "request_clock_starts_at",
            "export_needs_second_officer",
            "export_pseudonymise_staff",
            "export_link_days",
        ),
    ),
    (
        _("Retention"),
        (
            "access_log_retention_days",
            "interaction_retention_days",
            "segment_export_retention_days",
            "import_upload_retention_days",
        ),
    ),
    (
        _("Audit trail"),
        (
            "audit_checkpoint_email",
            "audit_import_sources",
            "audit_email_templates",
            "audit_journeys",
            "audit_segments",
            "audit_scoring",
            "audit_api_keys",
            "audit_suppression",
            "audit_purposes_lists",
            "audit_breaches",
        ),
    ),
    (_("Marketing insights"), ("marketers_see_insights",)),
    # With the organisation's details below, what the records of processing name (Art. 30(1)(a)).
    (
        _("Representative (records of processing, GDPR Art. 30)"),
        ("representative_name", "representative_address", "representative_email"),
    ),
    (
        _("Organisation (shown on every public page)"),
        (
            "organisation_name",
            "controller_address",
            "privacy_contact_email",
            "dpo_contact",
            "privacy_policy_url",
            "logo",
            "brand_colour",
        ),
    ),
)


@admin.register(ComplianceSettings)
class ComplianceSettingsAdmin(FieldHistoryAdminMixin, admin.ModelAdmin):
    """One row: the list view goes straight to it; it can be neither added nor deleted."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "privacy_policy_url":
            kwargs["assume_scheme"] = "https"  # only https is accepted, so never guess http
        if db_field.name == "logo":
            # Content is what counts (core.logo); this only narrows the browser's file picker.
            kwargs["widget"] = forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fields = _settings_fields()
        fieldsets = [
            (title, {"fields": [name for name in names if name in fields]})
            for title, names in _SETTINGS_THEMES
        ]
        named = {name for _title, names in _SETTINGS_THEMES for name in names}
        rest = [name for name in fields if name not in named]
        if rest:
            fieldsets.append((_("Other settings"), {"fields": rest}))
        return fieldsets

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        settings = ComplianceSettings.load()
        return HttpResponseRedirect(reverse("admin:core_compliancesettings_change", args=[settings.pk]))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentLevelSnapshot)
class ConsentLevelSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("date", "level_shown", "contacts")
    list_filter = ("level",)
    date_hierarchy = "date"

    @admin.display(description=_("level"), ordering="level")
    def level_shown(self, snapshot):
        return level_label(snapshot.level)  # the organisation's words (core.levels)
