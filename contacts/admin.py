"""Contacts' own back-office screens. The contact itself is edited in consent/admin/contacts.py:
its form writes consent, and contacts sits below consent."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from contacts.deliverability import block_lift
from contacts.models import Deliverability, LegalHold, SuppressedIdentity
from contacts.selectors import rows_visible_to
from contacts.suppression import suppression_digests
from core.history_admin import FieldHistoryAdminMixin
from staff.admin_tools import CappedCountPaginator, PostedSearchMixin


@admin.register(SuppressedIdentity)
class SuppressedIdentityAdmin(FieldHistoryAdminMixin, PostedSearchMixin, admin.ModelAdmin):
    """Erased identities, as keyed hashes. Searching hashes what is typed, so an officer can answer
    "is this address blocked?" without the list ever holding addresses. Deleting an entry lifts the
    block (e.g. the person asked to come back)."""

    list_display = ["kind", "reason", "created_at"]
    list_filter = ["kind"]
    search_fields = ["digest"]
    search_help_text = _("Type a full email address or phone number to check whether it is blocked.")
    readonly_fields = ["kind", "reason", "created_at"]
    fields = readonly_fields
    paginator = CappedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # only erasure adds entries

    def has_change_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        digests = suppression_digests(email=term, phone=term)
        return queryset.filter(digest__in=digests), False


class LiftForm(forms.ModelForm):
    lift_reason = forms.CharField(
        label=_("Why mail may go to this address again"),
        max_length=100,
        help_text=_("Kept in the history, e.g. 'the person fixed their mailbox and asked us by phone'."),
    )

    class Meta:
        model = Deliverability
        fields: list[str] = []

    def clean(self):
        data = super().clean()
        if self.instance.blocked_since is None:
            raise ValidationError(_("Mail to this contact is not blocked."))
        return data


class BlockedFilter(admin.SimpleListFilter):
    title = _("mail")
    parameter_name = "blocked"

    def lookups(self, request, model_admin):
        return [("yes", _("Blocked")), ("no", _("Deliverable"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(blocked_since__isnull=self.value() == "no")
        return queryset


@admin.register(Deliverability)
class DeliverabilityAdmin(admin.ModelAdmin):
    """Addresses the email provider reported as bouncing: a delivery fact, not consent. An officer
    lifts a block here with a reason (contacts.deliverability.block_lift)."""

    form = LiftForm
    list_display = ("contact", "blocked_since", "block_reason", "soft_bounces")
    list_filter = (BlockedFilter, "block_reason")
    list_select_related = ("contact",)
    readonly_fields = ("contact", "blocked_since", "block_reason", "soft_bounces")
    paginator = CappedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        # Restricted contacts (GDPR Art. 18) reach only the roles that handle restrictions.
        return rows_visible_to(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return False  # only the provider's reports block an address

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        block_lift(contact=obj.contact, actor=request.user, reason=form.cleaned_data["lift_reason"])


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    """Contacts kept past their retention for a legal reason (GDPR Art. 17(3)(e)). Placing,
    changing or ending a hold is kept in its history; retention never erases a held contact."""

    list_display = ("contact", "reason", "until", "created_by", "created_at")
    list_select_related = ("contact", "created_by")
    raw_id_fields = ("contact",)
    readonly_fields = ("created_by", "created_at")
    date_hierarchy = "until"
    paginator = CappedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        return rows_visible_to(request.user, super().get_queryset(request))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj._change_reason = obj.reason[:100]
        super().save_model(request, obj, form, change)


@admin.display(description=_("legal holds"))
def legal_holds_display(model_admin, contact):
    """The contact page's holds, latest end first; officers place them on the legal holds page."""
    holds = [
        format_html(
            '<a href="{}">{}</a>', reverse("admin:contacts_legalhold_change", args=[hold.pk]), str(hold)
        )
        for hold in contact.legal_holds.all()
    ]
    return format_html_join(mark_safe("<br>"), "{}", ((h,) for h in holds)) if holds else "—"
