"""Data subject requests for other systems: open one (channel "api"), follow it, and move it along.

The decisions are the admin's (dsr.admin.requests: the request page's decision form, its bundle
and erasure buttons), through the same services with the same preconditions: a refusal of the
service (a closed request, an unverified requester, a system that has not acknowledged, a status
that changed meanwhile) is answered 409 with its message, a malformed body 400. Officers decide
(dsr.change_datasubjectrequest); auditors read.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api_fields import StrictCharField, StrictIntegerField, StrictModelSerializer
from dsr import bundles
from dsr.downstream import downstream_waiting, downstream_waive
from dsr.jurisdictions import LAWS
from dsr.models import DataSubjectRequest, ExportBundle
from dsr.services import (
    dsr_assign,
    dsr_complete,
    dsr_create,
    dsr_decline,
    dsr_erase,
    dsr_extend,
    dsr_restrict,
    dsr_start,
    dsr_verify,
)
from staff.api_base import ID_MAX, ID_MIN, has_perms
from webhooks.models import Endpoint

DECIDE = "dsr.change_datasubjectrequest"  # the admin's decision form asks for the same permission


class DataSubjectRequestSerializer(StrictModelSerializer):
    jurisdiction = serializers.ChoiceField(
        choices=list(LAWS), required=False, help_text="Law; blank: the default."
    )
    contacts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    assignee = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="The officer working on it."
    )

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
            "jurisdiction",
            "contacts",
            "received_at",
            "due_at",
            "extended_until",
            "closed_at",
            "verified_at",
            "assignee",
            "extension_reason",
            "decline_reason",
        ]
        read_only_fields = [
            f
            for f in fields
            if f not in ("kind", "requester_email", "requester_name", "details", "jurisdiction")
        ]
        # The table allows a blank address only for requests an erasure scrubbed; a new one needs it.
        extra_kwargs = {"requester_email": {"required": True, "allow_blank": False}}


class ExpectedStatusSerializer(serializers.Serializer):
    expected_status = serializers.ChoiceField(
        choices=DataSubjectRequest.Status.choices,
        required=False,
        help_text="The status you last read. If the request moved on meanwhile, the action is refused "
        "(409) and nothing changes.",
    )


class VerifySerializer(ExpectedStatusSerializer):
    how = StrictCharField(
        max_length=200,
        allow_blank=True,
        trim_whitespace=False,
        help_text="How the requester's identity was checked (GDPR Art. 12(6)).",
    )


class UtcDateTimeField(serializers.DateTimeField):
    """Any offset Python reads, kept in UTC (PostgreSQL refuses offsets beyond 15:59). A moment UTC
    cannot hold (year 1 or 9999 with an offset) is no deadline anyone may set: it is passed on as
    the earliest or latest moment, for the service to refuse with its own message."""

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            return super().enforce_timezone(value)
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            return (dt.datetime.min if value.year < 2 else dt.datetime.max).replace(tzinfo=dt.UTC)


class ExtendSerializer(ExpectedStatusSerializer):
    until = UtcDateTimeField(
        help_text="The new deadline: after the due date and within the extension the request's law allows "
        "(GDPR Art. 12(3): two months), announced before the due date."
    )
    reason = StrictCharField(
        max_length=2000, allow_blank=True, trim_whitespace=False, help_text="Why; the requester is told."
    )


class ReasonSerializer(ExpectedStatusSerializer):
    reason = StrictCharField(
        max_length=2000,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Why (Art. 12(4): the requester is told).",
    )


class AssignSerializer(serializers.Serializer):
    assignee = StrictCharField(
        required=False,
        max_length=150,
        help_text="The username of the officer to assign; yourself when left out.",
    )


class WaiveSerializer(ExpectedStatusSerializer):
    endpoint = StrictIntegerField(
        min_value=ID_MIN, max_value=ID_MAX, help_text="The downstream system's id (see downstream/)."
    )
    reason = StrictCharField(
        max_length=2000,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Why this system's acknowledgement is not needed.",
    )


class EraseSerializer(serializers.Serializer):
    expected_status = serializers.ChoiceField(
        choices=DataSubjectRequest.Status.choices,
        help_text="The status you last read: an erasure cannot be undone, so it runs only on the "
        "request as you saw it.",
    )


class ExportBundleSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    revoked = serializers.SerializerMethodField(help_text="The person's data was erased: the link is gone.")

    class Meta:
        model = ExportBundle
        fields = [
            "id",
            "status",
            "progress",
            "total",
            "error",
            "created_by",
            "created_at",
            "released_at",
            "link_expires_at",
            "revoked",
        ]
        read_only_fields = fields

    def get_revoked(self, bundle) -> bool:
        return bundle.revoked_at is not None


class BundleListSerializer(serializers.Serializer):
    results = ExportBundleSerializer(many=True)


class WaitingSystemSerializer(serializers.Serializer):
    endpoint = serializers.IntegerField()
    name = serializers.CharField()


class DownstreamSerializer(serializers.Serializer):
    waiting = WaitingSystemSerializer(
        many=True,
        help_text="Active systems that have not acknowledged the request's events and were not waived "
        "(GDPR Art. 17(2), 19); the request completes once this is empty.",
    )


# --- examples ------------------------------------------------------------------------------------

NEW_REQUEST = {
    "reference": "DSR-7K3QX9",
    "kind": "erase",
    "status": "new",
    "requester_email": "holly@contoso.com",
    "requester_name": "Holly Berry",
    "details": "Please delete everything you hold about me.",
    "channel": "api",
    "contacts": [17],
    "received_at": "2026-03-02T10:00:00Z",
    "due_at": "2026-04-01T10:00:00Z",
    "extended_until": None,
    "closed_at": None,
    "verified_at": None,
    "assignee": None,
    "extension_reason": "",
    "decline_reason": "",
}
VERIFIED = {
    **NEW_REQUEST,
    "status": "verified",
    "verified_at": "2026-03-02T11:00:00Z",
}
COMPLETED = {**VERIFIED, "status": "completed", "closed_at": "2026-03-03T09:00:00Z", "assignee": "olivia"}
ERASED = {
    **COMPLETED,
    "requester_email": "",
    "requester_name": "",
    "details": "",
    "contacts": [],
}
EXTENDED = {
    **VERIFIED,
    "status": "extended",
    "extended_until": "2026-05-01T10:00:00Z",
    "extension_reason": "Data held in three archived systems must be searched.",
}
DECLINED = {
    **NEW_REQUEST,
    "status": "declined",
    "closed_at": "2026-03-03T09:00:00Z",
    "decline_reason": "Manifestly unfounded: the same request was answered last week.",
}
WAITING = "Waiting for Web shop to acknowledge. Complete once they have, or waive a system with a reason."
BUNDLE = {
    "id": 5,
    "status": "queued",
    "progress": 0,
    "total": 14,
    "error": "",
    "created_by": "olivia",
    "created_at": "2026-03-02T11:05:00Z",
    "released_at": None,
    "link_expires_at": None,
    "revoked": False,
}


def _refusal(name: str, detail: str) -> OpenApiExample:
    return OpenApiExample(name, value={"detail": detail}, response_only=True, status_codes=["409"])


def _answer(name: str, value: dict, status: str = "200") -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[status])


def _decision(summary: str, description: str, request, examples: list) -> dict:
    return dict(
        summary=summary,
        description=description,
        request=request,
        responses={
            200: DataSubjectRequestSerializer,
            409: OpenApiResponse(
                response=OpenApiTypes.OBJECT, description="Refused by the request service, with its message."
            ),
        },
        examples=examples,
    )


@extend_schema_view(
    list=extend_schema(
        summary="List data subject requests",
        examples=[
            _answer("Requests", {"next": None, "previous": None, "results": [VERIFIED]}),
        ],
    ),
    retrieve=extend_schema(
        summary="Read a data subject request",
        examples=[_answer("New", NEW_REQUEST), _answer("Extended", EXTENDED)],
    ),
)
class DataSubjectRequestViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Requests about a person's data (GDPR Art. 15 to 21). A second request of the same type for
    the same address while one is open joins it (200) instead of opening another (201)."""

    serializer_class = DataSubjectRequestSerializer
    queryset = DataSubjectRequest.objects.select_related("assignee").prefetch_related("contacts")
    lookup_field = "reference"
    filterset_fields = ["status", "kind"]

    @extend_schema(
        summary="Open a data subject request",
        description="Channel “api”. A second request of the same type for the same address while one "
        "is open joins it (200, its details added to the notes) instead of opening another (201).",
        responses={
            201: DataSubjectRequestSerializer,
            200: DataSubjectRequestSerializer,
            400: OpenApiResponse(response=OpenApiTypes.OBJECT),
        },
        examples=[
            OpenApiExample(
                "An erasure request",
                value={
                    "kind": "erase",
                    "requester_email": "holly@contoso.com",
                    "requester_name": "Holly Berry",
                    "details": "Please delete everything you hold about me.",
                },
                request_only=True,
            ),
            _answer("Opened", NEW_REQUEST, "201"),
            _answer("Joined the open one", NEW_REQUEST, "200"),
            OpenApiExample(
                "Invalid address",
                value={"requester_email": ["Enter a valid email address."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
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
                jurisdiction=data.get("jurisdiction", ""),
            )
        except ValidationError as error:
            return Response({"detail": " ".join(error.messages)}, status=400)
        return Response(self.get_serializer(created_request).data, status=201 if created else 200)

    # --- decisions: the admin's decision form, one action each ----------------------------------

    def _decide(self, serializer_class, decide):
        """Read the body, call the service with the request and the caller, answer the request."""
        obj = self.get_object()
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        common = {"request": obj, "actor": self.request.user}
        if "expected_status" in serializer_class().fields:
            common["expected_status"] = values.pop("expected_status", None)
        try:
            decide(common, values)
        except ValidationError as error:
            response = {"detail": " ".join(error.messages)}
            if hasattr(error, "error_dict"):
                response["errors"] = error.message_dict
            return Response(response, status=409)
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data)

    @extend_schema(
        **_decision(
            "Record the requester's identity as verified",
            "GDPR Art. 12(6). Starts the clock when the compliance settings count from verification.",
            VerifySerializer,
            [
                OpenApiExample(
                    "Verified",
                    value={"how": "Replied from the address on file", "expected_status": "new"},
                    request_only=True,
                ),
                _answer("Verified", VERIFIED),
                _refusal("Closed", "DSR-7K3QX9 is closed."),
            ],
        )
    )
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[has_perms(DECIDE)])
    def verify(self, request, reference=None):
        return self._decide(VerifySerializer, lambda common, v: dsr_verify(how=v["how"], **common))

    @extend_schema(
        **_decision(
            "Start work on the request",
            "For a verified requester; assigns the request to you unless someone has it.",
            ExpectedStatusSerializer,
            [
                OpenApiExample("Start", value={"expected_status": "verified"}, request_only=True),
                _answer("In progress", {**VERIFIED, "status": "in_progress", "assignee": "olivia"}),
                _refusal("Not verified", "Verify the requester's identity before working on the request."),
            ],
        )
    )
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[has_perms(DECIDE)])
    def start(self, request, reference=None):
        return self._decide(ExpectedStatusSerializer, lambda common, v: dsr_start(**common))

    @extend_schema(
        **_decision(
            "Assign the request",
            "To an officer who may decide on requests, by username; to yourself without one.",
            AssignSerializer,
            [
                OpenApiExample("To a colleague", value={"assignee": "olivia"}, request_only=True),
                OpenApiExample("To me", value={}, request_only=True),
                _answer("Assigned", {**VERIFIED, "assignee": "olivia"}),
                _refusal("Closed", "DSR-7K3QX9 is closed."),
            ],
        )
    )
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[has_perms(DECIDE)])
    def assign(self, request, reference=None):
        self.get_object()  # an unknown request is a 404 before anything else
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assignee = request.user
        if "assignee" in body.validated_data:
            assignee = (
                get_user_model()
                .objects.filter(username=body.validated_data["assignee"], is_active=True)
                .first()
            )
            if assignee is None or not assignee.has_perm(DECIDE):
                # Well formed, but nobody on file fits: refused like the services refuse (409).
                return Response(
                    {"detail": "No active member of staff by that name may decide on requests."},
                    status=409,
                )

        def assign(common, _values):
            if not dsr_assign(requests=[common["request"]], assignee=assignee, actor=common["actor"]):
                raise ValidationError(_("%(ref)s is closed.") % {"ref": common["request"].reference})

        return self._decide(serializers.Serializer, assign)

    @extend_schema(
        **_decision(
            "Extend the deadline",
            "GDPR Art. 12(3): by at most two further months, with the reason, which the requester is "
            "told by email.",
            ExtendSerializer,
            [
                OpenApiExample(
                    "Extend",
                    value={
                        "until": "2026-05-01T10:00:00Z",
                        "reason": "Data held in three archived systems must be searched.",
                    },
                    request_only=True,
                ),
                _answer("Extended", EXTENDED),
                _refusal(
                    "Too far",
                    "Under GDPR an extension ends after the due date (2026-04-01) and by 2026-06-01.",
                ),
            ],
        )
    )
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[has_perms(DECIDE)])
    def extend(self, request, reference=None):
        return self._decide(
            ExtendSerializer,
            lambda common, v: dsr_extend(until=v["until"], reason=v["reason"], **common),
        )

    @extend_schema(
        **_decision(
            "Decline the request",
            "GDPR Art. 12(4): with the reason.",
            ReasonSerializer,
            [
                OpenApiExample(
                    "Decline",
                    value={"reason": "Manifestly unfounded: the same request was answered last week."},
                    request_only=True,
                ),
                _answer("Declined", DECLINED),
                _refusal("Closed", "DSR-7K3QX9 is closed."),
            ],
        )
    )
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[has_perms(DECIDE)])
    def decline(self, request, reference=None):
        return self._decide(ReasonSerializer, lambda common, v: dsr_decline(reason=v["reason"], **common))

    @extend_schema(
        **_decision(
            "Complete the request",
            "For a verified requester, once every active downstream system has acknowledged the "
            "request's erasure, restriction or rectification (GDPR Art. 17(2), 19) or was waived.",
            ExpectedStatusSerializer,
            [
                OpenApiExample("Complete", value={"expected_status": "in_progress"}, request_only=True),
                _answer("Completed", COMPLETED),
                _refusal("Waiting for a system", WAITING),
                _refusal("Not verified", "A request is completed only for a verified requester."),
            ],
        )
    )
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[has_perms(DECIDE)])
    def complete(self, request, reference=None):
        return self._decide(ExpectedStatusSerializer, lambda common, v: dsr_complete(**common))

    @extend_schema(
        **_decision(
            "Restrict processing of the request's contacts",
            "GDPR Art. 18, for a verified restriction request: its contacts are kept but no longer "
            "processed; the request completes, or waits in progress for downstream systems.",
            ExpectedStatusSerializer,
            [
                OpenApiExample("Restrict", value={"expected_status": "verified"}, request_only=True),
                _answer("Restricted", {**COMPLETED, "kind": "restrict"}),
                _refusal("Wrong kind", "Only a restriction request restricts processing."),
            ],
        )
    )
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[has_perms(DECIDE)])
    def restrict(self, request, reference=None):
        return self._decide(ExpectedStatusSerializer, lambda common, v: dsr_restrict(**common))

    @extend_schema(
        **_decision(
            "Erase the data of the request's contacts",
            "GDPR Art. 17, for a verified erasure request: erases its contacts everywhere, as the "
            "admin's erasure does, sends the requester the erasure receipt, and completes the request "
            "(or keeps it in progress until downstream systems acknowledge). The request itself keeps "
            "no details of the requester. Cannot be undone: the status you read is required.",
            EraseSerializer,
            [
                OpenApiExample("Erase", value={"expected_status": "verified"}, request_only=True),
                _answer("Erased", ERASED),
                _refusal(
                    "Status changed",
                    "DSR-7K3QX9 changed meanwhile (now “Completed”). Reload it and decide again.",
                ),
            ],
        )
    )
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[has_perms(DECIDE)])
    def erase(self, request, reference=None):
        return self._decide(EraseSerializer, lambda common, v: dsr_erase(**common))

    @extend_schema(
        **_decision(
            "Close without one system's acknowledgement",
            "Records that the request may complete without this downstream system's acknowledgement, "
            "and why (shown in the compliance report).",
            WaiveSerializer,
            [
                OpenApiExample(
                    "Waive",
                    value={"endpoint": 3, "reason": "The web shop holds no copy: it was switched off."},
                    request_only=True,
                ),
                _answer("Waived", VERIFIED),
                _refusal("Closed", "The request is closed."),
            ],
        )
    )
    @action(detail=True, methods=["post"], filter_backends=[], permission_classes=[has_perms(DECIDE)])
    def waive(self, request, reference=None):
        self.get_object()
        body = WaiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = Endpoint.objects.filter(pk=body.validated_data["endpoint"]).first()
        if endpoint is None:
            return Response({"detail": "No downstream system has this id."}, status=409)

        def waive(common, values):
            request_ = common["request"]
            expected = common.get("expected_status")
            if expected is not None and request_.status != expected:
                raise ValidationError(
                    f"{request_.reference} changed meanwhile (now “{request_.get_status_display()}”). "
                    "Reload it and decide again."
                )
            downstream_waive(
                request=request_, endpoint=endpoint, reason=values["reason"], actor=common["actor"]
            )

        return self._decide(WaiveSerializer, waive)

    @extend_schema(
        summary="Which downstream systems the request waits for",
        responses={200: DownstreamSerializer},
        examples=[
            _answer("Waiting for one", {"waiting": [{"endpoint": 3, "name": "Web shop"}]}),
            _answer("All acknowledged", {"waiting": []}),
        ],
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def downstream(self, request, reference=None):
        obj = self.get_object()
        names = downstream_waiting(obj)
        endpoints = Endpoint.objects.filter(name__in=names).order_by("name").values_list("pk", "name")
        return Response({"waiting": [{"endpoint": pk, "name": name} for pk, name in endpoints]})

    # --- export bundles (GDPR Art. 15, 20) -------------------------------------------------------

    @extend_schema(
        methods=["GET"],
        summary="The request's export bundles and their status",
        description="Built as a job; an officer reviews and releases each in the admin.",
        responses={200: BundleListSerializer},
        examples=[_answer("One being built", {"results": [{**BUNDLE, "status": "building", "progress": 6}]})],
    )
    @extend_schema(
        methods=["POST"],
        summary="Build an export bundle",
        description="For an open, verified access or portability request with linked contacts, as the "
        "admin's “Export data” button does: the build is queued; follow it with GET.",
        request=None,
        responses={
            201: ExportBundleSerializer,
            409: OpenApiResponse(
                response=OpenApiTypes.OBJECT, description="Refused by the bundle service, with its message."
            ),
        },
        examples=[
            _answer("Queued", BUNDLE, "201"),
            _refusal("Wrong kind", "Only an access or portability request gets an export bundle."),
        ],
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def bundles(self, request, reference=None):
        obj = self.get_object()
        if request.method == "GET":
            found = obj.bundles.select_related("created_by").order_by("-created_at", "-id")
            return Response({"results": ExportBundleSerializer(found, many=True).data})
        try:
            bundle = bundles.bundle_create(request=obj, actor=request.user)
        except ValidationError as error:
            return Response({"detail": " ".join(error.messages)}, status=409)
        return Response(ExportBundleSerializer(bundle).data, status=201)

    def get_permissions(self):
        if self.action == "bundles":
            perms = (DECIDE,) if self.request.method == "POST" else ("dsr.view_exportbundle",)
            return [has_perms("dsr.view_datasubjectrequest", *perms)()]
        if self.action == "downstream":
            return [has_perms("dsr.view_datasubjectrequest")()]
        if self.action in self.DECISIONS:
            return [permission() for permission in self.permission_classes]
        return super().get_permissions()

    DECISIONS = ("verify", "start", "assign", "extend", "decline", "complete", "restrict", "erase", "waive")
