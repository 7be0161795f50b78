"""Delivery receipts for other systems (read-only): which downstream system was sent which event
about whom, every attempt with its answer, and whether the system acknowledged it (a 2xx, or for a
system that confirms by callback, its signed callback). Deliveries of an event about a restricted
contact (GDPR Art. 18) reach only the roles that see restricted contacts, as in the admin."""

from django.db.models import Prefetch
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from contacts.selectors import rows_visible_to
from staff.api_base import ID_MAX, ID_MIN, integer_filter
from webhooks.models import Attempt, Delivery, EventType
from webhooks.outbox import subject_of


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["at", "status_code", "latency_ms", "error"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(
        source="event.uid", read_only=True, help_text="The event's stable id (webhook-id)."
    )
    type = serializers.ChoiceField(source="event.type", choices=EventType.choices, read_only=True)
    happened_at = serializers.DateTimeField(source="event.created_at", read_only=True)
    contact = serializers.IntegerField(
        source="event.contact_id",
        read_only=True,
        allow_null=True,
        help_text="The contact's id; null once the contact is erased (the subject stays).",
    )
    endpoint = serializers.CharField(
        source="endpoint.name", read_only=True, help_text="The downstream system."
    )
    acknowledged = serializers.SerializerMethodField(
        help_text="Delivered with a 2xx, or, for a system that confirms by callback, confirmed."
    )
    payload = serializers.JSONField(source="event.payload", read_only=True, help_text="What was sent.")
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "type",
            "happened_at",
            "contact",
            "subject",
            "endpoint",
            "status",
            "attempts",
            "next_attempt_at",
            "delivered_at",
            "last_status_code",
            "last_error",
            "confirmed_at",
            "confirmation",
            "acknowledged",
            "payload",
            "attempt_log",
        ]
        read_only_fields = fields

    def get_acknowledged(self, delivery) -> bool:
        if delivery.confirmed_at is not None:
            return True
        return not delivery.endpoint.confirms and delivery.status == Delivery.Status.DELIVERED


class DeliveryFilter(filters.FilterSet):
    # By subject, not by the event's contact link: receipts of an erasure stay findable by the id
    # the erased person had (the link is cleared by the erasure; the subject is kept).
    contact = integer_filter(
        field_name="subject", low=ID_MIN, high=ID_MAX, method="by_contact", help_text="A contact's id."
    )
    event = filters.CharFilter(field_name="event__uid", help_text="An event's id (evt_...).")
    type = filters.ChoiceFilter(field_name="event__type", choices=EventType.choices)
    endpoint = filters.CharFilter(field_name="endpoint__name", help_text="A downstream system's name.")

    class Meta:
        model = Delivery
        fields = ["contact", "event", "type", "endpoint", "status"]

    def by_contact(self, queryset, name, value):
        return queryset.filter(subject=subject_of(value))


DELIVERY_EXAMPLE = OpenApiExample(
    "An unsubscribe delivered to the CRM",
    value={
        "id": 7,
        "event": "evt_3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6",
        "type": "subscription.unsubscribed",
        "happened_at": "2026-05-12T09:30:00Z",
        "contact": 42,
        "subject": "contact:42",
        "endpoint": "CRM",
        "status": "delivered",
        "attempts": 1,
        "next_attempt_at": "2026-05-12T09:30:00Z",
        "delivered_at": "2026-05-12T09:30:01Z",
        "last_status_code": 204,
        "last_error": "",
        "confirmed_at": None,
        "confirmation": "",
        "acknowledged": True,
        "payload": {
            "type": "subscription.unsubscribed",
            "timestamp": "2026-05-12T09:30:00+00:00",
            "data": {"contact": {"id": 42}, "list": "newsletter", "source": "api"},
        },
        "attempt_log": [{"at": "2026-05-12T09:30:01Z", "status_code": 204, "latency_ms": 85, "error": ""}],
    },
    response_only=True,
)


@extend_schema_view(
    list=extend_schema(
        summary="Delivery receipts",
        description="Every event's delivery to every downstream system, newest first, filterable by "
        "contact, event, event type, system and status.",
        examples=[
            OpenApiExample(
                "A page of receipts",
                value={"next": None, "previous": None, "results": [DELIVERY_EXAMPLE.value]},
                response_only=True,
            )
        ],
    ),
    retrieve=extend_schema(summary="One delivery receipt", examples=[DELIVERY_EXAMPLE]),
)
class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """Which downstream system received what, when, and whether it acknowledged it."""

    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    queryset = Delivery.objects.select_related("event", "endpoint").prefetch_related(
        Prefetch("attempt_log", queryset=Attempt.objects.order_by("id"))
    )

    def get_queryset(self):
        return rows_visible_to(self.request.user, super().get_queryset(), contact_path="event__contact")
