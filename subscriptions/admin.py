import json

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from consent.models import RECORD_FIELDS, RETENTION_FIELDS, Source
from contacts.selectors import rows_visible_to
from core.history_admin import FieldHistoryAdminMixin
from core.translations import translation_fields, translations_form
from staff.admin_tools import CappedCountPaginator, LevelWordsMixin, PostedSearchMixin, ReadOnlyAdminMixin
from subscriptions.models import ConsentRequest, Subscription, SubscriptionList
from subscriptions.services import RequestMeta, consent_request_renew, describe, subscription_set


@admin.register(SubscriptionList)
class SubscriptionListAdmin(LevelWordsMixin, FieldHistoryAdminMixin, admin.ModelAdmin):
    form = translations_form()
    list_display = (
        "name",
        "slug",
        "min_level_shown",
        "purpose",
        "public",
        "active",
        "pending",
        "confirmed",
        "expired",
        "rate",
    )
    list_filter = ("public", "active", "min_level")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "purpose", "min_level", "public", "active"]}),
        (_("In other languages"), {"fields": translation_fields()}),
        (
            _("Record of processing (GDPR Art. 30)"),
            {"fields": RECORD_FIELDS},
        ),
        (_("Retention (GDPR Art. 5(1)(e))"), {"fields": RETENTION_FIELDS}),
    ]
    list_select_related = ("purpose",)

    def get_queryset(self, request):
        # One query for the whole page: double opt-in outcomes per list as annotations.
        now = timezone.now()
        open_ = Q(consent_requests__confirmed_at__isnull=True)
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_pending=Count(
                    "consent_requests", filter=open_ & Q(consent_requests__token__expires_at__gt=now)
                ),
                n_expired=Count(
                    "consent_requests", filter=open_ & Q(consent_requests__token__expires_at__lte=now)
                ),
                n_confirmed=Count("consent_requests", filter=Q(consent_requests__confirmed_at__isnull=False)),
            )
        )

    @admin.display(description=_("pending"), ordering="n_pending")
    def pending(self, obj):
        return self._link(obj, "pending", obj.n_pending)

    @admin.display(description=_("confirmed"), ordering="n_confirmed")
    def confirmed(self, obj):
        return self._link(obj, "confirmed", obj.n_confirmed)

    @admin.display(description=_("expired"), ordering="n_expired")
    def expired(self, obj):
        return self._link(obj, "expired", obj.n_expired)

    @admin.display(description=_("confirmation rate"))
    def rate(self, obj):
        done = obj.n_confirmed + obj.n_expired
        return f"{obj.n_confirmed * 100 / done:.0f} %" if done else "—"

    def _link(self, obj, status, count):
        url = (
            reverse("admin:subscriptions_consentrequest_changelist")
            + f"?lists__id__exact={obj.pk}&status={status}"
        )
        return format_html('<a href="{}">{}</a>', url, count)


@admin.register(Subscription)
class SubscriptionAdmin(PostedSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
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

    def get_queryset(self, request):
        # Restricted contacts (GDPR Art. 18) reach only the roles that handle restrictions.
        return rows_visible_to(request.user, super().get_queryset(request))

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


class RequestStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("pending", _("Pending")), ("confirmed", _("Confirmed")), ("expired", _("Expired"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        match self.value():
            case "pending":
                return queryset.filter(confirmed_at__isnull=True, token__expires_at__gt=now)
            case "confirmed":
                return queryset.filter(confirmed_at__isnull=False)
            case "expired":
                return queryset.filter(confirmed_at__isnull=True, token__expires_at__lte=now)
        return queryset


@admin.register(ConsentRequest)
class ConsentRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The evidence of double opt-in: what was asked, what the contact saw, when and where they confirmed."""

    list_display = ("requested_at", "contact", "origin", "status", "sent_at", "confirmed_at")
    list_filter = (RequestStatusFilter, "lists", "origin")
    list_select_related = ("contact", "token")
    actions = ["resend"]

    @admin.display(description=_("status"))
    def status(self, obj):
        if obj.confirmed_at:
            return _("Confirmed")
        return _("Expired") if obj.token.expired else _("Pending")

    def has_resend_permission(self, request):
        return request.user.has_perm("subscriptions.change_consentrequest")

    @admin.action(description=_("Send a new confirmation link"), permissions=["resend"])
    def resend(self, request, queryset):
        sent = 0
        for pending in queryset.filter(confirmed_at__isnull=True).select_related("contact"):
            try:
                if consent_request_renew(request=pending, meta=RequestMeta()):
                    sent += 1
            except ValidationError as error:
                self.message_user(request, f"#{pending.pk}: {' '.join(error.messages)}", messages.ERROR)
        self.message_user(request, _("%d new confirmation links are being sent.") % sent)

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
