"""Lists and subscriptions for other systems. Joining a list starts the double opt-in every other
way onto a list starts (subscriptions.services.list_join: pending, a confirmation email); leaving
applies at once through subscription_set, as the admin's "Unsubscribe selected" does.

Subscriptions of restricted contacts (GDPR Art. 18) reach only the roles that see those contacts
(contacts.selectors.rows_visible_to, as in the admin)."""

from django.db import transaction
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from consent.models import Source
from contacts.selectors import contacts_visible_to, rows_visible_to
from core.api_fields import StrictCharField, StrictIntegerField
from staff.api_base import ID_MAX, ID_MIN, has_perms, integer_filter
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services import Rejoined, RequestMeta, Status, list_join, subscription_set


class SubscriptionListSerializer(serializers.ModelSerializer):
    purpose = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The purpose subscribing also answers yes to, if any.",
    )
    min_level = serializers.IntegerField(
        read_only=True, help_text="The consent level 0–5 joining needs (confirming raises it)."
    )

    class Meta:
        model = SubscriptionList
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "purpose",
            "min_level",
            "public",
            "active",
            "created_at",
        ]
        read_only_fields = fields


LIST = {
    "id": 3,
    "slug": "newsletter",
    "name": "Newsletter",
    "description": "Our monthly news.",
    "purpose": "newsletter",
    "min_level": 2,
    "public": True,
    "active": True,
    "created_at": "2026-01-05T10:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="Subscription lists", examples=[OpenApiExample("The lists", value=[LIST], response_only=True)]
    ),
    retrieve=extend_schema(
        summary="One subscription list", examples=[OpenApiExample("A list", value=LIST, response_only=True)]
    ),
)
class SubscriptionListViewSet(viewsets.ReadOnlyModelViewSet):
    """The lists people can be on, with the purpose and minimum consent level each needs."""

    serializer_class = SubscriptionListSerializer
    queryset = SubscriptionList.objects.select_related("purpose").order_by("name")
    lookup_field = "slug"
    pagination_class = None  # a handful of lists, in name order
    filter_backends = []


class SubscriptionSerializer(serializers.ModelSerializer):
    list = serializers.SlugRelatedField(source="subscription_list", slug_field="slug", read_only=True)

    class Meta:
        model = Subscription
        fields = ["id", "contact", "list", "status", "source", "changed_at"]
        read_only_fields = fields


class SubscriptionFilter(filters.FilterSet):
    contact = integer_filter(field_name="contact_id", low=ID_MIN, high=ID_MAX, help_text="A contact's id.")
    list = filters.CharFilter(field_name="subscription_list__slug", help_text="A list's key.")

    class Meta:
        model = Subscription
        fields = ["contact", "list", "status"]


class MembershipSerializer(serializers.Serializer):
    contact = StrictIntegerField(min_value=ID_MIN, max_value=ID_MAX, help_text="The contact's id.")
    # Not trimmed: a key is matched as sent ("\x1f" trimmed to blank was a 400 for a schema-valid body).
    list = StrictCharField(max_length=100, trim_whitespace=False, help_text="The list's key (slug).")


class JoinResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["asked", "waiting", "subscribed"],
        help_text="asked: a confirmation email is on its way; waiting: one was sent before and is "
        "still open; subscribed: the contact is on the list already.",
    )
    subscription = SubscriptionSerializer()
    confirmation_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Until when the emailed link confirms (for outcome asked)."
    )


MEMBERSHIP_EXAMPLE = OpenApiExample(
    "A contact and a list", value={"contact": 42, "list": "newsletter"}, request_only=True
)
NOT_FOUND = OpenApiResponse(description="No such contact (visible to this key) or no such list.")


SUBSCRIPTION = {
    "id": 11,
    "contact": 42,
    "list": "newsletter",
    "status": "pending",
    "source": "double_opt_in",
    "changed_at": "2026-05-12T09:30:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="Subscriptions",
        description="Newest first; filter by ?contact=<id> for one contact's lists.",
        examples=[
            OpenApiExample(
                "A contact's subscriptions",
                value={"next": None, "previous": None, "results": [SUBSCRIPTION]},
                response_only=True,
            )
        ],
    ),
    retrieve=extend_schema(
        summary="One subscription",
        examples=[OpenApiExample("A pending subscription", value=SUBSCRIPTION, response_only=True)],
    ),
)
class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Who is on which list: pending (waiting for confirmation), subscribed or unsubscribed."""

    serializer_class = SubscriptionSerializer
    filterset_class = SubscriptionFilter
    queryset = Subscription.objects.select_related("subscription_list")

    def get_queryset(self):
        return rows_visible_to(self.request.user, super().get_queryset())

    def get_permissions(self):
        if self.action in ("subscribe", "unsubscribe"):
            return [has_perms("subscriptions.change_subscription")()]
        return super().get_permissions()

    def _membership(self, request):
        data = MembershipSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = contacts_visible_to(request.user).filter(pk=data.validated_data["contact"]).first()
        if contact is None:
            raise NotFound("No such contact.")
        subscription_list = SubscriptionList.objects.filter(slug=data.validated_data["list"]).first()
        if subscription_list is None:
            raise NotFound("No such list.")
        return contact, subscription_list

    @extend_schema(
        request=MembershipSerializer,
        responses={
            202: JoinResultSerializer,
            200: JoinResultSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="Refused, nothing created or sent: a closed list, a restricted contact, "
                "no email address to confirm from, the consent rules (e.g. a child and a list needing "
                "Profiling), or enough confirmation emails to this inbox for the hour."
            ),
        },
        summary="Subscribe a contact to a list (double opt-in)",
        description="Starts the double opt-in the subscription center and the sign-up form start: the "
        "subscription is pending and the contact (for a child, the guardian) gets a confirmation "
        "email; it becomes subscribed when they click the link. 202 when a confirmation was asked "
        "for now; 200 when one is waiting already or the contact is subscribed already.",
        examples=[
            MEMBERSHIP_EXAMPLE,
            OpenApiExample(
                "A confirmation email is on its way",
                value={
                    "outcome": "asked",
                    "subscription": SUBSCRIPTION,
                    "confirmation_expires_at": "2026-05-14T09:30:00Z",
                },
                response_only=True,
                status_codes=["202"],
            ),
            OpenApiExample(
                "A confirmation is waiting already: nothing sent",
                value={
                    "outcome": "waiting",
                    "subscription": SUBSCRIPTION,
                    "confirmation_expires_at": "2026-05-14T09:30:00Z",
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def subscribe(self, request):
        contact, subscription_list = self._membership(request)
        api_key = request.auth if hasattr(request.auth, "prefix") else None
        # The integrator's server is not the person: no IP or browser of theirs is evidence here.
        meta = RequestMeta(ip=None, user_agent=f"API key {api_key.prefix}" if api_key else "API")
        outcome = list_join(contact=contact, subscription_list=subscription_list, meta=meta, origin="api")
        if outcome.status in (Rejoined.REFUSED, Rejoined.LIMITED):
            return Response({"detail": outcome.message}, status=409)
        subscription = Subscription.objects.select_related("subscription_list").get(
            contact=contact, subscription_list=subscription_list
        )
        body = {
            "outcome": {Rejoined.ASKED: "asked", Rejoined.WAITING: "waiting"}.get(
                outcome.status, "subscribed"
            ),
            "subscription": subscription,
            "confirmation_expires_at": outcome.waiting.expires_at if outcome.waiting else None,
        }
        return Response(
            JoinResultSerializer(body).data, status=202 if outcome.status == Rejoined.ASKED else 200
        )

    @extend_schema(
        request=MembershipSerializer,
        responses={200: SubscriptionSerializer, 404: NOT_FOUND},
        summary="Unsubscribe a contact from a list",
        description="Applies at once (GDPR Art. 21(3)), as the unsubscribe link and the admin do; "
        "a pending subscription ends too. Unsubscribing twice changes nothing. A contact who was "
        "never on the list is recorded as unsubscribed, so no later send of that list reaches them.",
        examples=[
            MEMBERSHIP_EXAMPLE,
            OpenApiExample(
                "Unsubscribed",
                value={**SUBSCRIPTION, "status": "unsubscribed", "source": "api"},
                response_only=True,
            ),
        ],
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def unsubscribe(self, request):
        contact, subscription_list = self._membership(request)
        with transaction.atomic():
            subscription = subscription_set(
                contact=contact,
                subscription_list=subscription_list,
                status=Status.UNSUBSCRIBED,
                source=Source.API,
            )
        return Response(SubscriptionSerializer(subscription).data)
