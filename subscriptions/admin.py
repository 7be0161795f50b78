import json

from django.contrib import admin
from django.db import transaction
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from config.admin_tools import CappedCountPaginator
from consent.models import Source
from subscriptions.models import ConsentRequest, Subscription, SubscriptionList
from subscriptions.services import describe, subscription_set


@admin.register(SubscriptionList)
class SubscriptionListAdmin(SimpleHistoryAdmin):
    list_display = ("name", "slug", "min_level", "purpose", "public", "active")
    list_filter = ("public", "active", "min_level")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    list_select_related = ("purpose",)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    """Read-only: people join through double opt-in, never by a click in the back office."""

    list_display = ("contact", "subscription_list", "status", "source", "changed_at")
    list_filter = ("subscription_list", "status", "source")
    list_select_related = ("contact", "subscription_list")
    search_fields = ("=contact__email",)
    search_help_text = _("Full email address of the contact.")
    paginator = CappedCountPaginator
    show_full_result_count = False
    actions = ["unsubscribe_selected"]
    readonly_fields = ("contact", "subscription_list", "status", "source", "changed_at")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lower()
        return (queryset.filter(contact__email=term) if term else queryset), False

    def has_unsubscribe_permission(self, request):
        return request.user.has_perm("subscriptions.change_subscription")

    @admin.action(description=_("Unsubscribe selected"), permissions=["unsubscribe"])
    def unsubscribe_selected(self, request, queryset):
        count = 0
        with transaction.atomic():
            for sub in queryset.select_related("contact", "subscription_list"):
                subscription_set(
                    contact=sub.contact,
                    subscription_list=sub.subscription_list,
                    status=Subscription.Status.UNSUBSCRIBED,
                    source=Source.ADMIN,
                )
                count += 1
        self.message_user(request, _("%d subscriptions ended.") % count)


@admin.register(ConsentRequest)
class ConsentRequestAdmin(ReadOnlyAdmin):
    """The evidence of double opt-in: what was asked, what the contact saw, when and where they confirmed."""

    list_display = ("requested_at", "contact", "origin", "confirmed_at")
    list_filter = ("origin", ("confirmed_at", admin.EmptyFieldListFilter))
    list_select_related = ("contact",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    fields = (
        "contact",
        "origin",
        "what_it_asks",
        "requested_at",
        "request_ip",
        "request_user_agent",
        "sent_to",
        "confirmed_at",
        "confirm_ip",
        "confirm_user_agent",
        "wording_shown",
    )
    readonly_fields = fields

    @admin.display(description=_("what confirming applies"))
    def what_it_asks(self, obj):
        return (
            format_html("<br>".join(["{}"] * len(lines := describe(obj.changes))), *lines)
            if obj.changes
            else "—"
        )

    @admin.display(description=_("wording the contact saw"))
    def wording_shown(self, obj):
        text = json.dumps(obj.wording.content, indent=2, ensure_ascii=False)
        return format_html("<code>{}</code><pre>{}</pre>", obj.wording.digest, text)
