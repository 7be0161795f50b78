"""Contacts and their consent for other systems (here, in consent, because a contact is read with
its purpose answers and changed through the consent service; the routes stay /api/v1/contacts/). Every read is written to the staff access log;
consent changes go through consent.services.consent_change with source "api" (rule 1).

No personal data in a URL: finding a contact by address is a POST of the address (search/), as
query strings end up in every access log, proxy log and browser history on the way."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from consent.api import examples
from consent.api.contact_writes import REFUSED, ContactWriteMixin
from consent.api.eligibility import ContactEligibilityMixin
from consent.api.records import ConsentChangeSerializer
from consent.models import PurposeConsent, Source
from consent.screen_fields import CONTACT_IDENTITY_FIELDS
from consent.services import consent_change
from contacts.models import Contact
from contacts.selectors import SENSITIVE_CONTACT_FIELDS, contacts_visible_to, sees_sensitive
from core.api_fields import StrictBooleanField, StrictCharField, StrictIntegerField
from core.levels import ConsentLevel
from core.normalize import normalize_email, normalize_phone
from staff.access_log import record_access
from staff.api_base import has_perms, integer_filter
from staff.models import AccessLogEntry

SEARCH_LIMIT = 100  # an address or a number names a handful of contacts, never a page of them


class PurposeAnswerSerializer(serializers.ModelSerializer):
    purpose = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    purpose_name = serializers.CharField(source="purpose.name", read_only=True)

    class Meta:
        model = PurposeConsent
        fields = ["purpose", "purpose_name", "granted", "changed_at", "source"]


class SensitiveSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = list(SENSITIVE_CONTACT_FIELDS)


class ContactSerializer(serializers.ModelSerializer):
    consent_level = serializers.CharField(source="get_consent_given_display", read_only=True)
    purposes = PurposeAnswerSerializer(source="purpose_consents", many=True, read_only=True)
    sensitive = serializers.SerializerMethodField(
        help_text="Child, guardian and restriction; null for roles that may not see them."
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            *CONTACT_IDENTITY_FIELDS,
            "language",
            "consent_given",
            "consent_level",
            "tracking_allowed",
            "purposes",
            "sensitive",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(SensitiveSerializer(allow_null=True))
    def get_sensitive(self, contact):
        request = self.context.get("request")
        if request is None or not sees_sensitive(request.user):
            return None
        return SensitiveSerializer(contact).data


class ContactFilter(filters.FilterSet):
    min_level = integer_filter(
        field_name="consent_given", lookup_expr="gte", low=0, high=5, help_text="Level 0–5."
    )
    consent_given = filters.ChoiceFilter(choices=ConsentLevel.choices)
    # Explicit: the model field's yes/no choices would make this a choice of "True"/"False" only.
    tracking_allowed = filters.BooleanFilter()

    class Meta:
        model = Contact
        fields = ["consent_given", "min_level", "tracking_allowed"]


class ContactSearchSerializer(serializers.Serializer):
    email = StrictCharField(
        required=False, allow_blank=True, max_length=254, help_text="Full address, any case."
    )
    phone = StrictCharField(
        required=False, allow_blank=True, max_length=64, help_text="Any notation; compared as E.164."
    )


class ContactSearchResultSerializer(serializers.Serializer):
    results = ContactSerializer(many=True)


class ConsentChangeRequestSerializer(serializers.Serializer):
    # Bounded here too, so the schema states the range (the consent service checks it again).
    level = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=min(ConsentLevel.values),
        max_value=max(ConsentLevel.values),
        error_messages={
            "min_value": "Consent levels run from 0 to 5.",
            "max_value": "Consent levels run from 0 to 5.",
        },
        help_text="Consent level 0–5.",
    )
    purposes = serializers.DictField(
        child=StrictBooleanField(),
        required=False,
        help_text='Purpose key → answer, e.g. {"newsletter": true}.',
    )
    tracking_allowed = StrictBooleanField(required=False, allow_null=True, default=None)
    justification = StrictCharField(required=False, allow_blank=True, default="", max_length=2000)
    evidence = serializers.DictField(
        required=False,
        default=dict,
        help_text="What your system can show for it, e.g. the form and wording version.",
    )


class ConsentChangeResponseSerializer(serializers.Serializer):
    contact = ContactSerializer()
    changes = ConsentChangeSerializer(many=True)


@extend_schema_view(
    list=extend_schema(examples=examples.CONTACT_LIST),
    retrieve=extend_schema(examples=examples.CONTACT_DETAIL),
    # The answer is the contact as GET shows it; the mixin's operations say the rest.
    create=extend_schema(responses={201: ContactSerializer, 409: REFUSED}),
    partial_update=extend_schema(responses={200: ContactSerializer, 409: REFUSED}),
)
class ContactViewSet(ContactEligibilityMixin, ContactWriteMixin, viewsets.ReadOnlyModelViewSet):
    """Contacts with their consent level, purpose answers and tracking choice; created and
    corrected (identity fields) through the admin's services (consent.api.contact_writes); why one
    is (not) eligible (consent.api.eligibility)."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    _answers = Prefetch(
        "purpose_consents",
        queryset=PurposeConsent.objects.select_related("purpose").order_by("purpose__slug"),
    )
    queryset = Contact.objects.prefetch_related(_answers)

    def get_queryset(self):
        # Restricted contacts (GDPR Art. 18) are not processed: only privacy officers see them.
        return contacts_visible_to(self.request.user, super().get_queryset())

    def _get_unprefetched(self) -> Contact:
        """get_object() without the answers: found and visible to this user, else 404."""
        self.queryset = self.queryset.prefetch_related(None)
        try:
            return self.get_object()
        finally:
            self.queryset = type(self).queryset

    def _log(self, contacts):
        record_access(
            request=self.request, action=AccessLogEntry.Action.API_READ, contact_ids=[c.pk for c in contacts]
        )

    def list(self, request, *args, **kwargs):
        # The old filters: ignoring them would hand back every contact to a client that meant one.
        if moved := sorted({"email", "phone"} & set(request.query_params)):
            return Response(
                {
                    "detail": f"Filtering by {' or '.join(moved)} in the URL is not possible: personal data "
                    "would land in access logs. POST it to /api/v1/contacts/search/ instead."
                },
                status=400,
            )
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        self._log(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        contact = self.get_object()
        self._log([contact])
        return Response(self.get_serializer(contact).data)

    @extend_schema(
        request=ConsentChangeRequestSerializer,
        # The error bodies, and the answers every operation can give, come from config.api_schema.
        responses={
            200: ConsentChangeResponseSerializer,
            400: OpenApiResponse(response=OpenApiTypes.OBJECT),
            409: OpenApiResponse(
                response=OpenApiTypes.OBJECT, description="Refused by the consent service, with its message."
            ),
        },
        summary="Change a contact's consent",
        description="Through the consent service with source “api”: a well-formed request it refuses "
        "(e.g. Profiling for a child, an unknown or retired purpose) is answered 409 with its message; "
        "a malformed one (a level outside 0–5, an answer that is not true or false) 400.",
        examples=examples.CONSENT_CHANGE,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="consent",
        permission_classes=[has_perms("contacts.change_contact")],
    )
    def consent(self, request, pk=None):
        # The contact alone (found and visible, else 404): its answers are read once, after the change.
        contact = self._get_unprefetched()
        data = ConsentChangeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        api_key = request.auth if hasattr(request.auth, "prefix") else None
        try:
            records = consent_change(
                contact=contact,
                source=Source.API,
                level=values.get("level"),
                purposes=values.get("purposes") or None,
                tracking_allowed=values.get("tracking_allowed"),
                actor=request.user,
                channel=f"api:{api_key.name}"[:64] if api_key else "api",
                justification=values.get("justification", ""),
                evidence={
                    "client": values.get("evidence") or {},
                    "api_key": api_key.prefix if api_key else "",
                    "ip": request.META.get("REMOTE_ADDR", ""),
                    "user_agent": request.headers.get("User-Agent", "")[:300],
                },
            )
        except ValidationError as error:
            body = {"detail": " ".join(error.messages)}
            if hasattr(error, "error_dict"):
                body["errors"] = error.message_dict
            # 409, not 400: the request is well formed; the contact's state or the purposes on
            # file refuse it (a client cannot tell that from the schema).
            return Response(body, status=409)
        # The answers as the change left them, read after it (no second read of the contact: the
        # service set the consent values it wrote on this instance).
        prefetch_related_objects([contact], self._answers)
        self._log([contact])
        return Response(
            {
                "contact": ContactSerializer(contact, context=self.get_serializer_context()).data,
                "changes": ConsentChangeSerializer(records, many=True).data,
            }
        )

    @extend_schema(
        request=ContactSearchSerializer,
        responses={200: ContactSearchResultSerializer},
        summary="Find contacts by email address or phone number",
        description="A POST so that the address never appears in a URL (and so in no access log). "
        "With both given, a contact must match both; with neither, nobody. At most 100 contacts.",
        examples=examples.CONTACT_SEARCH,
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="search",
        filter_backends=[],
        pagination_class=None,
        permission_classes=[has_perms("contacts.view_contact")],
    )
    def search(self, request):
        query = ContactSearchSerializer(data=request.data)
        if not query.is_valid():
            messages = [str(m) for field_messages in query.errors.values() for m in field_messages]
            return Response({"detail": " ".join(messages), "errors": query.errors}, status=400)
        email = (query.validated_data.get("email") or "").strip()
        phone = (query.validated_data.get("phone") or "").strip()
        contacts = self.get_queryset()
        try:
            if email:
                contacts = contacts.filter(email=normalize_email(email))
            if phone:
                contacts = contacts.filter(phone=normalize_phone(phone))
        except ValidationError:
            contacts = contacts.none()  # not an address or a number: nobody has it
        if not (email or phone):
            contacts = contacts.none()  # a search for nobody finds nobody, not everybody
        found = list(contacts[:SEARCH_LIMIT])
        self._log(found)
        return Response({"results": self.get_serializer(found, many=True).data})

    def get_permissions(self):
        if self.action in ("consent", "search"):
            return [permission() for permission in self.permission_classes]
        return super().get_permissions()
