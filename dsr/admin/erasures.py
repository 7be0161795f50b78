"""Erasure records in the back office: proof of every erasure, read-only."""

from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from dsr.models import ErasureRecord
from staff.admin_tools import CappedCountPaginator, ReadOnlyAdminMixin


@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Proof of every erasure: what went, what stayed and why, and the residue scan's verdict."""

    list_display = ("performed_at", "request", "rule", "contacts_erased", "residue_clean", "performed_by")
    list_filter = ("residue_clean",)
    list_select_related = ("request", "performed_by")
    fields = ("performed_at", "request", "rule", "performed_by", "contacts_erased", "result")
    readonly_fields = fields
    paginator = CappedCountPaginator
    show_full_result_count = False

    @admin.display(description=_("retention rule"))
    def rule(self, obj):
        return obj.retention_rule

    @admin.display(description=_("result"))
    def result(self, obj):
        return render_to_string("admin/dsr/erasure_result.html", {"record": obj})
