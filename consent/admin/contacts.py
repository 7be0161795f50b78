"""The contact in the back office: list, form, history and export. Here, in consent, because the
form writes consent (through consent.contact_edits) and the page shows consent change records;
the model is contacts', so the URLs stay admin:contacts_contact_*."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.constants import LOOKUP_SEP
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from consent.admin.eligibility import EligibilityQuestionForm
from consent.admin.held import HELD_PERMISSION, held_view
from consent.admin.records import ConsentChangeColumns
from consent.contact_edits import contact_save_with_consent
from consent.models import ConsentChange, Purpose, PurposeConsent, Source
from consent.rectification_sheet import sheet_header, sheet_rows
from consent.screen_fields import CONTACT_IDENTITY_FIELDS
from consent.selectors import (
    consent_changes_visible_to,
    contact_change_history,
    eligibility_explain,
    history_field_choices,
    is_eligible,
)
from contacts.admin import legal_holds_display
from contacts.forms import ANSWERS, ContactAdminForm, purpose_field_name
from contacts.models import Contact
from contacts.selectors import SENSITIVE_CONTACT_FIELDS, contact_search, contacts_visible_to, lookup_roots_for
from contacts.selectors import sees_sensitive as user_sees_sensitive
from contacts.services import PROFILE_FIELDS
from core.history_admin import field_history_response
from core.levels import ConsentLevel, level_choices, level_label
from core.xlsx import xlsx_response
from staff.access_log import record_access
from staff.admin_tools import (
    CappedCountPaginator,
    PostedSearchMixin,
    ReadOnlyAdminMixin,
    SafeAutocompleteMixin,
    XlsxExportMixin,
    adopt_saved,
)
from staff.models import AccessLogEntry
from staff.roles import may_view_insights
from webhooks.outbox import subject_of
from webhooks.panels import downstream_panel


def sees_sensitive(request) -> bool:
    return user_sees_sensitive(request.user)


class MinimumLevelFilter(admin.SimpleListFilter):
    title = _("consent at least")
    parameter_name = "level_gte"

    def lookups(self, request, model_admin):
        return [(str(value), label) for value, label in level_choices(bottom=1)]

    def queryset(self, request, queryset):
        if self.value() in {str(level.value) for level in ConsentLevel}:
            return queryset.filter(consent_given__gte=int(self.value()))
        return queryset


class PurposeFilter(admin.SimpleListFilter):
    title = _("purpose consent")
    parameter_name = "purpose"

    def lookups(self, request, model_admin):
        choices = []
        for purpose in Purpose.objects.filter(active=True):
            choices += [
                (f"{purpose.slug}:yes", f"{purpose.name}: {_('yes')}"),
                (f"{purpose.slug}:no", f"{purpose.name}: {_('no')}"),
                (f"{purpose.slug}:none", f"{purpose.name}: {_('no answer')}"),
            ]
        return choices

    def queryset(self, request, queryset):
        slug, _sep, answer = (self.value() or "").rpartition(":")
        if not slug or answer not in {"yes", "no", "none"}:
            return queryset
        answers = PurposeConsent.objects.filter(contact=OuterRef("pk"), purpose__slug=slug)
        if answer == "none":
            return queryset.filter(~Exists(answers))
        return queryset.filter(Exists(answers.filter(granted=answer == "yes")))


class ConsentChangeInline(ConsentChangeColumns, ReadOnlyAdminMixin, admin.TabularInline):
    model = ConsentChange
    fk_name = "contact"
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("consent change records")
    fields = (
        "recorded_at",
        "effective_at",
        "field_label",
        "old_display",
        "new_display",
        "source",
        "actor",
        "justification",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        records = super().get_queryset(request).select_related("purpose", "actor")
        return consent_changes_visible_to(request.user, records)


@admin.register(Contact)
class ContactAdmin(SafeAutocompleteMixin, PostedSearchMixin, XlsxExportMixin, admin.ModelAdmin):
    form = ContactAdminForm
    export_permission = "contacts.export_contact"
    export_title = "Contacts"
    export_access_action = AccessLogEntry.Action.EXPORT_CONTACTS
    # Handled by contact_search (indexed lookups); listed because autocomplete needs them.
    search_fields = ("last_name", "first_name", "email", "phone")
    search_help_text = _("Start of a first or last name, a full email address, or a phone number.")
    autocomplete_fields = ("guardian",)
    list_select_related = ("guardian",)
    list_per_page = 50
    paginator = CappedCountPaginator
    show_full_result_count = False
    inlines = [ConsentChangeInline]
    actions = ["export_selected_xlsx", "export_for_rectification"]
    legal_holds = legal_holds_display

    # --- what a role may see, filter, sort and search by -------------------------------------
    def get_queryset(self, request):
        # Every door of this admin (list, export, change page, autocomplete) starts here.
        return contacts_visible_to(request.user, super().get_queryset(request))

    def lookup_allowed(self, lookup, value, request=None):
        # Django lets any `?field__lookup=` through for a field of the model itself: without
        # this a Marketer could list the children with ?is_child__exact=1.
        roots = lookup_roots_for(request.user) if request is not None else set()
        if roots is not None and lookup.split(LOOKUP_SEP, 1)[0] not in roots:
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_delete_permission(self, request, obj=None):
        # A person leaves through erasure (a data request): it suppresses the address, writes the
        # erasure record and scans for residue. A plain delete would leave no proof, and the next
        # import would bring the person back. Even a superuser goes that way.
        return False

    # --- list -------------------------------------------------------------------------------
    def get_list_display(self, request):
        columns = ["display_name", "email", "phone", "consent_level", "tracking_allowed"]
        if sees_sensitive(request):
            columns += ["is_child", "processing_restricted"]
        return columns

    def get_list_filter(self, request):
        filters = ["consent_given", MinimumLevelFilter, PurposeFilter, "tracking_allowed"]
        if sees_sensitive(request):
            filters += ["is_child", "processing_restricted"]
        return filters

    def get_search_results(self, request, queryset, search_term):
        queryset = contact_search(queryset, search_term)
        if request.GET.get("field_name") == "guardian":  # the guardian autocomplete
            # Who is offered tells who is a child: only for roles that see the guardian field.
            if not sees_sensitive(request):
                raise PermissionDenied
            queryset = queryset.filter(is_child=False)
        return queryset, False

    @admin.display(description=_("name"), ordering="last_name")
    def display_name(self, contact):
        # Restricted contacts reach only the roles that handle restrictions: marked for them.
        if contact.processing_restricted:
            return format_html("{} <strong>({})</strong>", contact, _("restricted"))
        return str(contact)

    @admin.display(description=_("consent given"), ordering="consent_given")
    def consent_level(self, contact):
        return level_label(contact.consent_given)

    # --- form -------------------------------------------------------------------------------
    def _active_purposes(self, request):
        if not hasattr(request, "_active_purposes"):
            request._active_purposes = list(Purpose.objects.filter(active=True))
        return request._active_purposes

    def get_fieldsets(self, request, obj=None):
        protection = ["consent_given", "tracking_allowed"]
        if sees_sensitive(request):
            protection += SENSITIVE_CONTACT_FIELDS
        fieldsets = [
            (None, {"fields": [*CONTACT_IDENTITY_FIELDS, "country", "language"]}),
            (_("Data protection"), {"fields": protection}),
        ]
        editable = self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        if editable:
            purposes = [purpose_field_name(p) for p in self._active_purposes(request)]
            if purposes:
                fieldsets.append((_("Consent options"), {"fields": purposes}))
            fieldsets.append((_("Why this changes"), {"fields": ["justification", "channel"]}))
        else:
            fieldsets.append((_("Consent options"), {"fields": ["purpose_answers"]}))
        if obj is not None:
            record = ["created_at", "updated_at", "last_action_at", "history_link", "eligibility_link"]
            if request.user.has_perm(HELD_PERMISSION):
                record.append("held_link")
            if request.user.has_perm("contacts.view_legalhold"):
                record.append("legal_holds")
            if request.user.has_perm("staff.view_accesslogentry"):
                record.append("access_log")
            if request.user.has_perm("webhooks.view_delivery"):
                record.append("downstream_systems")
            fieldsets.append((_("Record"), {"fields": record}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [
            "created_at",
            "updated_at",
            "last_action_at",
            "history_link",
            "eligibility_link",
            "held_link",
            "purpose_answers",
            "access_log",
            "downstream_systems",
            "legal_holds",
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        purposes = self._active_purposes(request)
        attrs = {
            purpose_field_name(p): forms.ChoiceField(
                label=p.name, choices=ANSWERS, required=False, help_text=p.description
            )
            for p in purposes
        }
        attrs["purposes"] = purposes
        kwargs["form"] = type("ContactAdminForm", (self.form,), attrs)
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.display(description=_("answers"))
    def purpose_answers(self, contact):
        answers = contact.purpose_consents.select_related("purpose").order_by("purpose__name")
        return ", ".join(str(a) for a in answers) or "—"

    @admin.display(description=_("downstream systems"))
    def downstream_systems(self, contact):
        return downstream_panel(subjects=[subject_of(contact.pk)])

    @admin.display(description=_("history"))
    def history_link(self, contact):
        url = reverse("admin:contacts_contact_history", args=[contact.pk])
        return format_html('<a href="{}">{}</a>', url, _("Full history of this contact's data"))

    @admin.display(description=_("eligibility"))
    def eligibility_link(self, contact):
        url = reverse("admin:contacts_contact_eligibility", args=[contact.pk])
        return format_html('<a href="{}">{}</a>', url, _("Why is this contact (not) eligible?"))

    @admin.display(description=_("consent held"))
    def held_link(self, contact):
        url = reverse("admin:contacts_contact_held", args=[contact.pk])
        return format_html('<a href="{}">{}</a>', url, _("What did we hold on a given date?"))

    def save_model(self, request, obj, form, change):
        """Profile and consent through consent.contact_edits, which orders the two writes."""
        profile = {name: form.cleaned_data[name] for name in PROFILE_FIELDS if name in form.cleaned_data}
        reason = (form.cleaned_data.get("justification") or "").strip()
        saved = contact_save_with_consent(
            contact=obj if change else None,
            profile=profile,
            consent=form.consent_changes(),
            level_before=form.initial.get("consent_given", 0),
            actor=request.user,
            reason=reason or ("edited in the admin" if change else "created in the admin"),
            source=Source.ADMIN,
            justification=reason,
            channel=form.cleaned_data.get("channel", ""),
        )
        adopt_saved(obj, saved)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The Insights tab (journeys.insights), offered only where it would show something.
        contact = self.get_object(request, unquote(object_id)) if may_view_insights(request.user) else None
        if contact is not None and is_eligible(contact, min_level=ConsentLevel.NONE, needs_tracking=True):
            extra_context = {
                **(extra_context or {}),
                "insights_url": reverse("contact-insights", args=[contact.pk]),
            }
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            record_access(
                request=request, action=AccessLogEntry.Action.VIEW, contact_ids=[int(unquote(object_id))]
            )
        return response

    @admin.display(description=_("who accessed this record"))
    def access_log(self, contact):
        entries = (
            AccessLogEntry.objects.filter(contacts__contact_id=contact.pk)
            .select_related("user")
            .order_by("-at")[:10]
        )
        url = reverse("admin:staff_accesslogentry_changelist") + f"?contacts__contact__id__exact={contact.pk}"
        lines = format_html_join(
            "",
            "<li>{} — {} — {}</li>",
            ((e.at.strftime("%Y-%m-%d %H:%M"), e.user, e.get_action_display()) for e in entries),
        )
        return format_html(
            '<ul style="margin:0">{}</ul><a href="{}">{}</a>', lines, url, _("Full access log")
        )

    # --- history ----------------------------------------------------------------------------
    def history_view(self, request, object_id, extra_context=None):
        contact = self.get_object(request, unquote(object_id))
        if contact is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, contact):
            raise PermissionDenied
        include_sensitive = sees_sensitive(request)
        record_access(request=request, action=AccessLogEntry.Action.HISTORY, contact_ids=[contact.pk])
        records_url = reverse("admin:consent_consentchange_changelist") + f"?contact__id__exact={contact.pk}"
        return field_history_response(
            self,
            request,
            obj=contact,
            title=_("History of %s") % contact,
            choices=history_field_choices(include_sensitive=include_sensitive),
            rows_for=lambda field: contact_change_history(
                contact=contact, include_sensitive=include_sensitive, field=field
            ),
            # The history holds the contact's data: exported by who may export contacts, logged.
            can_export=self.has_export_permission(request),
            on_export=lambda: record_access(
                request=request, action=AccessLogEntry.Action.EXPORT_CONTACTS, contact_ids=[contact.pk]
            ),
            links=[(records_url, _("Consent change records of this contact"))],
        )

    # --- eligibility --------------------------------------------------------------------------
    def get_urls(self):
        own = [
            path(
                "<path:object_id>/eligibility/",
                self.admin_site.admin_view(self.eligibility_view),
                name="contacts_contact_eligibility",
            ),
            path(
                "<path:object_id>/held/",
                self.admin_site.admin_view(lambda request, object_id: held_view(self, request, object_id)),
                name="contacts_contact_held",
            ),
        ]
        return own + super().get_urls()

    def eligibility_view(self, request, object_id):
        """Why this contact may (not) be processed for a purpose, list or journey the officer
        picks: the selector's rules for one contact, in words, as the viewer's role may read them."""
        contact = self.get_object(request, unquote(object_id))  # restricted ones only for who sees them
        if contact is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, contact):
            raise PermissionDenied
        form = EligibilityQuestionForm(request.GET or None)
        explanation, asked = None, ""
        if form.is_bound and form.is_valid():
            asked, criteria = form.criteria()
            explanation = eligibility_explain(contact_id=contact.pk, asked=asked, **criteria).for_viewer(
                sees_sensitive=sees_sensitive(request)
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Why is %s (not) eligible?") % contact,
            "subtitle": None,
            "opts": self.opts,
            "object": contact,
            "form": form,
            "asked": asked,
            "explanation": explanation,
        }
        record_access(request=request, action=AccessLogEntry.Action.VIEW, contact_ids=[contact.pk])
        return TemplateResponse(request, "admin/contacts/contact/eligibility.html", context)

    # --- bulk rectification (GDPR Art. 16): read back by imports.rectification ---------------
    def has_rectify_permission(self, request) -> bool:
        return request.user.has_perm("contacts.rectify_contact")

    @admin.action(description=_("Export selected for correction (Excel)"), permissions=["rectify"])
    def export_for_rectification(self, request, queryset):
        queryset = queryset.order_by("pk")[: settings.EXPORT_MAX_ROWS]
        record_access(
            request=request,
            action=AccessLogEntry.Action.EXPORT_CONTACTS,
            contact_ids=queryset.values_list("pk", flat=True).iterator(chunk_size=5000),
        )
        purposes = self._active_purposes(request)
        return xlsx_response(
            filename=f"contacts-to-correct-{timezone.localtime():%Y%m%d-%H%M}.xlsx",
            title="Contacts to correct",
            header=sheet_header(purposes),
            rows=sheet_rows(queryset, purposes),
        )

    # --- export -----------------------------------------------------------------------------
    def export_header(self, request):
        header = ["ID", "First name", "Last name", "Email", "Phone", "Consent level", "Consent", "Tracking"]
        if sees_sensitive(request):
            header += ["Is a child", "Guardian ID", "Processing restricted"]
        return header + [f"Purpose: {p.name}" for p in self._active_purposes(request)] + ["Created"]

    def export_rows(self, request, queryset):
        sensitive = sees_sensitive(request)
        purposes = self._active_purposes(request)
        answers = {
            f"purpose_{p.pk}": Subquery(
                PurposeConsent.objects.filter(contact=OuterRef("pk"), purpose=p).values("granted")[:1]
            )
            for p in purposes
        }
        labels = dict(level_choices(numbered=False))
        for contact in queryset.annotate(**answers).iterator(chunk_size=2000):
            row = [
                contact.pk,
                contact.first_name,
                contact.last_name,
                contact.email,
                contact.phone,
                contact.consent_given,
                str(labels[contact.consent_given]),
                "Allow" if contact.tracking_allowed else "Do not allow",
            ]
            if sensitive:
                row += [
                    _yes_no(contact.is_child),
                    contact.guardian_id,
                    _yes_no(contact.processing_restricted),
                ]
            for p in purposes:
                value = getattr(contact, f"purpose_{p.pk}")
                row.append("" if value is None else ("Yes" if value else "No"))
            row.append(contact.created_at)
            yield row


def _yes_no(value: bool) -> str:
    """Booleans in exports read as words, like the purpose answers beside them."""
    return "Yes" if value else "No"
