"""Contacts' own back-office screens. The contact itself is edited in consent/admin/contacts.py:
its form writes consent, and contacts sits below consent."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from contacts.models import SuppressedIdentity
from contacts.suppression import suppression_digests
from staff.admin_tools import CappedCountPaginator, PostedSearchMixin


@admin.register(SuppressedIdentity)
class SuppressedIdentityAdmin(PostedSearchMixin, admin.ModelAdmin):
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
