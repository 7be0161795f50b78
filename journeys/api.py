"""Segments for other systems: their rules (read-only) and, in cursor pages, their members who may
be processed, from the one eligibility query (journeys.selectors.segment_members ->
consent.selectors.eligible_contacts), as journeys and segment exports take them. Every page of
members read is written to the staff access log."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound

from consent.models import Purpose
from contacts.models import Contact
from core.levels import ConsentLevel
from journeys.models import Segment
from journeys.selectors import segment_members
from staff.access_log import record_access
from staff.api_base import Pagination, has_perms
from staff.models import AccessLogEntry
from subscriptions.models import SubscriptionList


class SegmentSerializer(serializers.ModelSerializer):
    rules = serializers.JSONField(
        read_only=True,
        help_text='Who the segment describes, e.g. {"all": [{"purpose": "newsletter", "value": true}, '
        '{"field": "country", "op": "eq", "value": "DE"}]}.',
    )

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "rules", "created_at"]
        read_only_fields = fields


class SegmentMemberSerializer(serializers.ModelSerializer):
    consent_level = serializers.CharField(source="get_consent_given_display", read_only=True)
    # Text, not the choice: a read-only choice field would be documented without its blank value.
    language = serializers.CharField(read_only=True, help_text="en, de, or blank: not known.")

    class Meta:
        model = Contact
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "country",
            "language",
            "consent_given",
            "consent_level",
            "tracking_allowed",
        ]
        read_only_fields = fields


class MemberQuerySerializer(serializers.Serializer):
    """What the members must allow besides being in the segment (a journey's criteria)."""

    min_level = serializers.IntegerField(
        required=False,
        min_value=min(ConsentLevel.values),
        max_value=max(ConsentLevel.values),
        help_text="Lowest consent level 0–5 (default 0: everyone not restricted).",
    )
    purpose = serializers.CharField(
        required=False, max_length=100, help_text="A purpose's key: only members who said yes to it."
    )
    list = serializers.CharField(
        required=False, max_length=100, help_text="A list's key: leaves out who unsubscribed from it."
    )


MEMBER_EXAMPLE = OpenApiExample(
    "One member",
    value={
        "next": None,
        "previous": None,
        "results": [
            {
                "id": 42,
                "first_name": "Holly",
                "last_name": "Hansen",
                "email": "holly@contoso.com",
                "phone": "",
                "country": "DE",
                "language": "de",
                "consent_given": 3,
                "consent_level": "Marketing",
                "tracking_allowed": False,
            }
        ],
    },
    response_only=True,
)


SEGMENT = {
    "id": 5,
    "name": "Newsletter DE",
    "description": "Said yes to the newsletter, in Germany.",
    "rules": {
        "all": [{"purpose": "newsletter", "value": True}, {"field": "country", "op": "eq", "value": "DE"}]
    },
    "created_at": "2026-02-01T08:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="Segments", examples=[OpenApiExample("The segments", value=[SEGMENT], response_only=True)]
    ),
    retrieve=extend_schema(
        summary="One segment", examples=[OpenApiExample("A segment", value=SEGMENT, response_only=True)]
    ),
)
class SegmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Segments: groups of contacts described by rules (kept by marketers in the admin)."""

    serializer_class = SegmentSerializer
    queryset = Segment.objects.order_by("name")
    pagination_class = None  # a few dozen segments, by name
    filter_backends = []

    @extend_schema(
        parameters=[MemberQuerySerializer],
        responses={
            200: SegmentMemberSerializer(many=True),
            404: OpenApiResponse(description="No such segment, purpose or list."),
        },
        summary="A segment's members who may be processed",
        description="Cursor pages of the segment's members who pass the eligibility rules journeys "
        "and segment exports apply (restriction, level, purpose, unsubscribes, children never "
        "profiled): never a restricted contact. Each page read is in the staff access log.",
        examples=[MEMBER_EXAMPLE],
    )
    @action(
        detail=True,
        methods=["get"],
        pagination_class=Pagination,
        permission_classes=[has_perms("journeys.view_segment", "contacts.view_contact")],
    )
    def members(self, request, pk=None):
        segment = self.get_object()
        # A plain dict: from a QueryDict DRF reads `?purpose=` as not sent, where the schema
        # states at least one character (and all members would come back unfiltered).
        query = MemberQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        criteria = query.validated_data
        purpose = subscription_list = None
        if "purpose" in criteria:
            purpose = Purpose.objects.filter(slug=criteria["purpose"]).first()
            if purpose is None:
                raise NotFound("No such purpose.")
        if "list" in criteria:
            subscription_list = SubscriptionList.objects.filter(slug=criteria["list"]).first()
            if subscription_list is None:
                raise NotFound("No such list.")
        members = segment_members(
            segment=segment,
            min_level=criteria.get("min_level", ConsentLevel.NONE),
            purpose=purpose,
            subscription_list=subscription_list,
        )
        page = self.paginate_queryset(members)
        record_access(
            request=request, action=AccessLogEntry.Action.API_READ, contact_ids=[c.pk for c in page]
        )
        return self.get_paginated_response(SegmentMemberSerializer(page, many=True).data)
