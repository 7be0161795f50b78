"""The purposes contacts answer yes or no to, for other systems (read-only: officers keep them in
the admin). A purpose's key (slug) is what the consent action and the contacts' answers name."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from consent.models import Purpose


class PurposeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Purpose
        fields = ["id", "slug", "name", "description", "active", "created_at"]
        read_only_fields = fields


PURPOSE = {
    "id": 1,
    "slug": "newsletter",
    "name": "Newsletter",
    "description": "News about our products, once a month.",
    "active": True,
    "created_at": "2026-01-05T10:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="Purposes",
        examples=[OpenApiExample("The purposes", value=[PURPOSE], response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One purpose", examples=[OpenApiExample("A purpose", value=PURPOSE, response_only=True)]
    ),
)
class PurposeViewSet(viewsets.ReadOnlyModelViewSet):
    """Purposes of processing; an inactive (retired) one can no longer be granted."""

    serializer_class = PurposeSerializer
    queryset = Purpose.objects.order_by("slug")
    lookup_field = "slug"
    pagination_class = None  # a handful of purposes, by key
    filter_backends = []
