from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from contacts.selectors import rows_visible_to
from staff.admin_tools import CappedCountPaginator, ReadOnlyAdminMixin
from webhooks.models import Attempt, Delivery, Endpoint, EventType
from webhooks.services import deliveries_replay, endpoint_resume


class EndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=_("events sent"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Endpoint
        fields = ["name", "url", "event_types", "active"]


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("name", "url", "active", "paused_at", "failing_since")
    list_filter = ("active",)
    readonly_fields = ("secret", "paused_at", "pause_reason", "failing_since", "created_at")
    actions = ["resume_selected"]

    @admin.action(description=_("Resume and send what waits"), permissions=["change"])
    def resume_selected(self, request, queryset):
        waiting = sum(endpoint_resume(endpoint=endpoint) for endpoint in queryset)
        self.message_user(request, _("Resumed; %d deliveries are going out.") % waiting)


class AttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Attempt
    fields = ("at", "status_code", "latency_ms", "error")
    readonly_fields = fields
    extra = 0


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who received what and when: per event and system, every attempt with its answer."""

    list_display = ("event_uid", "event_type", "endpoint", "subject", "status", "attempts", "delivered_at")
    list_filter = ("endpoint", "status", "event__type")
    list_select_related = ("event", "endpoint")
    search_fields = ("=event__uid", "=subject")
    search_help_text = _("An event id (evt_...) or a person's subject (contact:123).")
    date_hierarchy = "event__created_at"
    paginator = CappedCountPaginator
    show_full_result_count = False
    inlines = [AttemptInline]
    readonly_fields = (
        "event",
        "endpoint",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_status_code",
        "last_error",
        "payload",
    )
    actions = ["send_again"]

    def get_queryset(self, request):
        # An event about a restricted contact (GDPR Art. 18) reaches only the roles that see them.
        return rows_visible_to(request.user, super().get_queryset(request), contact_path="event__contact")

    @admin.display(description=_("event id"), ordering="event__uid")
    def event_uid(self, delivery):
        return delivery.event.uid

    @admin.display(description=_("event"), ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.get_type_display()

    @admin.display(description=_("what was sent"))
    def payload(self, delivery):
        return delivery.event.payload

    def has_send_again_permission(self, request):
        return request.user.has_perm("webhooks.change_endpoint")

    @admin.action(description=_("Send again"), permissions=["send_again"])
    def send_again(self, request, queryset):
        self.message_user(request, _("%d deliveries queued again.") % deliveries_replay(deliveries=queryset))
