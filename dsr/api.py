"""Data subject requests for other systems: open one (channel "api") and follow it."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from core.api_fields import StrictModelSerializer
from dsr.models import DataSubjectRequest
from dsr.services import dsr_create


class DataSubjectRequestSerializer(StrictModelSerializer):
    contacts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = DataSubjectRequest
        fields = [
            "reference",
            "kind",
            "status",
            "requester_email",
            "requester_name",
            "details",
            "channel",
            "contacts",
            "received_at",
            "due_at",
            "extended_until",
            "closed_at",
        ]
        read_only_fields = [
            "reference",
            "status",
            "channel",
            "contacts",
            "received_at",
            "due_at",
            "extended_until",
            "closed_at",
        ]
        # The table allows a blank address only for requests an erasure scrubbed; a new one needs it.
        extra_kwargs = {"requester_email": {"required": True, "allow_blank": False}}


class DataSubjectRequestViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Requests about a person's data (GDPR Art. 15 to 21). A second request of the same type for
    the same address while one is open joins it (200) instead of opening another (201)."""

    serializer_class = DataSubjectRequestSerializer
    queryset = DataSubjectRequest.objects.prefetch_related("contacts")
    lookup_field = "reference"
    filterset_fields = ["status", "kind"]

    @extend_schema(
        responses={
            201: DataSubjectRequestSerializer,
            200: DataSubjectRequestSerializer,
        }
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            created_request, created = dsr_create(
                kind=data["kind"],
                email=data["requester_email"],
                channel=DataSubjectRequest.Channel.API,
                name=data.get("requester_name", ""),
                details=data.get("details", ""),
                actor=request.user,
            )
        except ValidationError as error:
            return Response({"detail": " ".join(error.messages)}, status=400)
        return Response(self.get_serializer(created_request).data, status=201 if created else 200)
