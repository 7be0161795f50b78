from django.contrib import admin

from contacts.selectors import rows_visible_to
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

    def get_queryset(self, request):
        # Restricted contacts (GDPR Art. 18) reach only the roles that handle restrictions.
        return rows_visible_to(request.user, super().get_queryset(request))
