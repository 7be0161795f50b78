"""Purposes and consent change records in the back office (the records are evidence: read-only)."""

import functools
import json

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import TextField
from django.db.models.functions import Cast
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from consent.admin.receipts import receipts_export_view
from consent.admin.retention import retention_export_view, retention_preview_view
from consent.models import RECORD_FIELDS, RETENTION_FIELDS, ConsentChange, ConsentField, Purpose, Source
from consent.screen_fields import CONSENT_CHANGE_FIELDS
from consent.selectors import SENSITIVE_CONSENT_FIELDS, consent_changes_visible_to
from contacts.models import Contact
from contacts.selectors import sees_sensitive
from core.history_admin import FieldHistoryAdminMixin
from core.translations import translation_fields, translations_form
from staff.admin_tools import CappedCountPaginator, PostedSearchMixin, ReadOnlyAdminMixin, XlsxExportMixin


@admin.register(Purpose)
class PurposeAdmin(FieldHistoryAdminMixin, admin.ModelAdmin):
    form = translations_form()
    list_display = ("name", "slug", "legal_basis", "opt_out", "active", "created_at")
    list_filter = ("active", "legal_basis")
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "active"]}),
        (_("In other languages"), {"fields": translation_fields()}),
        (
            _("Record of processing (GDPR Art. 30)"),
            {"fields": RECORD_FIELDS},
        ),
        (_("Retention (GDPR Art. 5(1)(e))"), {"fields": RETENTION_FIELDS}),
        # consent.opt_outs: an opt-out purpose needs no yes; stopped_by links sale/sharing and
        # sensitive-data purposes to the opt-outs that stop them (checked by the eligibility selector).
        (_("Opt-out rights (CCPA/CPRA)"), {"fields": ["opt_out", "stopped_by"]}),
    ]
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_urls(self):
        site = self.admin_site
        return [
            path("retention/", site.admin_view(self.retention_view), name="consent_purpose_retention"),
            path(
                "retention/export/",
                site.admin_view(self.retention_export),
                name="consent_purpose_retention_export",
            ),
            *super().get_urls(),
        ]

    def retention_view(self, request):
        return retention_preview_view(self, request)

    def retention_export(self, request):
        return retention_export_view(self, request)


class ConsentChangeColumns:
    """How a consent change record reads in a list: its field, from and to, in words."""

    @admin.display(description=_("field"), ordering="field")
    def field_label(self, record):
        return record.field_label

    @admin.display(description=_("from"))
    def old_display(self, record):
        return record.old_display

    @admin.display(description=_("to"))
    def new_display(self, record):
        return record.new_display


class VisibleFieldFilter(admin.SimpleListFilter):
    """The record's field, offering only the fields the role may see (no "Is a child" for a
    Marketer); the parameter stays `field__exact`, so links keep working."""

    title = _("field")
    parameter_name = "field__exact"

    def lookups(self, request, model_admin):
        hidden = set() if sees_sensitive(request.user) else set(SENSITIVE_CONSENT_FIELDS)
        return [(value, label) for value, label in ConsentField.choices if value not in hidden]

    def queryset(self, request, queryset):
        if self.value() in {value for value, _label in self.lookup_choices}:
            return queryset.filter(field=self.value())
        return queryset


@admin.register(ConsentChange)
class ConsentChangeAdmin(
    PostedSearchMixin, ConsentChangeColumns, ReadOnlyAdminMixin, XlsxExportMixin, admin.ModelAdmin
):
    """Read-only for everyone, superusers included: the records are evidence (append-only)."""

    export_permission = "consent.export_consentchange"
    export_title = "Consent change records"
    export_access_action = "export_consent"
    export_contact_path = "contact_id"
    change_list_template = "admin/consent/consentchange/change_list.html"  # adds the receipts link
    list_display = (
        "recorded_at",
        "contact_link",
        "field_label",
        "old_display",
        "new_display",
        "source",
        "actor",
    )
    list_filter = (VisibleFieldFilter, "source", "purpose", ("recorded_at", admin.DateFieldListFilter))
    list_select_related = ("contact", "actor", "purpose")
    search_fields = ("=contact__email",)
    search_help_text = _("Full email address of the contact.")
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 100
    fields = (*CONSENT_CHANGE_FIELDS, "chain_hash")
    readonly_fields = fields

    def get_queryset(self, request):
        # No record of a hidden field or a restricted contact for a Marketer: list, export, page.
        return consent_changes_visible_to(request.user, super().get_queryset(request))

    def get_urls(self):
        view = self.admin_site.admin_view(self.receipts_view)
        return [path("receipts/", view, name="consent_consentchange_receipts"), *super().get_urls()]

    def receipts_view(self, request):
        return receipts_export_view(self, request)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lower()
        return (queryset.filter(contact__email=term) if term else queryset), False

    @admin.display(description=_("contact"), ordering="contact")
    def contact_link(self, record):
        url = reverse("admin:contacts_contact_change", args=[record.contact_id])
        return format_html('<a href="{}">{}</a>', url, record.contact)

    def export_header(self, request):
        return [
            "Record ID",
            "Recorded",
            "Effective",
            "Contact ID",
            "Contact",
            "Contact email",
            "Field",
            "From",
            "To",
            "Source",
            "Channel",
            "By",
            "Justification",
            "Evidence",
        ]

    def export_rows(self, request, queryset):
        # Plain values and labels looked up once, not three model instances and a dozen
        # translations per record: an export of a million records should cost its writing.
        records = queryset.values_list(
            "pk",
            "recorded_at",
            "effective_at",
            "contact_id",
            "contact__first_name",
            "contact__last_name",
            "contact__email",
            "contact__phone",
            "field",
            "purpose_id",
            "old_value",
            "new_value",
            "source",
            "channel",
            f"actor__{get_user_model().USERNAME_FIELD}",
            "justification",
            # As stored text, not parsed by the field: _ExportRow writes each distinct text once.
            Cast("evidence", output_field=TextField()),
        )
        yield from map(_ExportRow(), records.iterator(chunk_size=2000))


class _ExportRow:
    """One consent change record's export row from the plain values export_rows reads, with the
    labels of purposes, sources, fields and values looked up once per export."""

    def __init__(self):
        self.purposes = {purpose.pk: str(purpose) for purpose in Purpose.objects.all()}
        self.sources = {value: str(label) for value, label in Source.choices}
        self.describe_field = functools.cache(ConsentChange.describe_field)
        self.describe_value = functools.cache(ConsentChange.describe_value)
        # Records of one import or one page share their evidence: decoded and written once each
        # (bounded, so memory stays flat however varied the evidence).
        self.evidence = functools.lru_cache(maxsize=4096)(_evidence_text)

    def __call__(self, values: tuple) -> list:
        (pk, recorded_at, effective_at, contact_id, first_name, last_name, email, phone, field, purpose_id,
         old_value, new_value, source, channel, actor, justification, evidence) = values  # fmt: skip
        return [
            pk,
            recorded_at,
            effective_at,
            contact_id,
            # An erasure pseudonymised the record: it no longer leads to anyone.
            "" if contact_id is None else Contact.label(contact_id, first_name, last_name, email, phone),
            email or "",
            self.describe_field(field, self.purposes.get(purpose_id)),
            self.describe_value(field, old_value),
            self.describe_value(field, new_value),
            self.sources.get(source, source),
            channel,
            actor or "",
            justification,
            "" if evidence is None else self.evidence(evidence),
        ]


def _evidence_text(stored: str) -> str:
    """The evidence as the export writes it (keys sorted), from its stored JSON text."""
    evidence = json.loads(stored)
    return json.dumps(evidence, sort_keys=True) if evidence else ""
