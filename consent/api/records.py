"""Consent change records for other systems (read-only: they are evidence, written by the service)."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from consent.api import examples
from consent.models import ConsentChange
from consent.screen_fields import CONSENT_CHANGE_FIELDS
from consent.selectors import consent_changes_visible_to
from staff.api_base import integer_filter


class ConsentChangeSerializer(serializers.ModelSerializer):
    # Null when the change was not about a purpose, or made by no staff user (a page, an import).
    purpose = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The purpose's key, for a purpose answer.",
    )
    actor = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The staff user who made it, if any.",
    )

    class Meta:
        model = ConsentChange
        fields = ["id", *CONSENT_CHANGE_FIELDS]
        # Evidence, written by the consent service: nothing here is input.
        read_only_fields = fields


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """ISO 8601 with any offset Python reads, sent to the database in UTC: PostgreSQL refuses
    offsets beyond 15:59 (a 500 found by schemathesis); a date out of range is a 400."""

    def filter(self, qs, value):
        if value:
            import datetime as dt

            from rest_framework.exceptions import ValidationError

            try:
                value = value.astimezone(dt.UTC)
            except OverflowError:
                raise ValidationError({self.field_name: ["The date is out of range."]}) from None
        return super().filter(qs, value)


class ConsentChangeFilter(filters.FilterSet):
    # A number, not a choice of contacts: an unknown id finds nothing instead of being an error.
    contact = integer_filter(field_name="contact_id", low=1, high=2**63 - 1)
    recorded_after = UtcDateTimeFilter(field_name="recorded_at", lookup_expr="gte")
    recorded_before = UtcDateTimeFilter(field_name="recorded_at", lookup_expr="lt")

    class Meta:
        model = ConsentChange
        fields = ["contact", "source", "field", "recorded_after", "recorded_before"]


@extend_schema_view(
    list=extend_schema(examples=examples.CHANGE_LIST),
    retrieve=extend_schema(examples=examples.CHANGE_DETAIL),
)
class ConsentChangeViewSet(viewsets.ReadOnlyModelViewSet):
    """Every consent change: who changed what of whom, when, through which channel and why."""

    serializer_class = ConsentChangeSerializer
    filterset_class = ConsentChangeFilter
    queryset = ConsentChange.objects.select_related("purpose", "actor")

    def get_queryset(self):
        # A Marketer reads no record of a field hidden from them (?field=is_child finds nothing).
        return consent_changes_visible_to(self.request.user, super().get_queryset())
