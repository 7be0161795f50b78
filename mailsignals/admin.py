from django.contrib import admin

from mailsignals.models import MailSignal
from staff.admin_tools import CappedCountPaginator, ReadOnlyAdminMixin


@admin.register(MailSignal)
class MailSignalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What the email provider reported, once per event: the evidence behind blocks and complaints."""

    list_display = ("received_at", "kind", "esp", "contact", "subscription_list")
    list_filter = ("kind", "esp")
    list_select_related = ("contact", "subscription_list")
    date_hierarchy = "received_at"
    paginator = CappedCountPaginator
    show_full_result_count = False
