"""GET /api/v1/contacts/{id}/eligibility/: the contact page's "Why is this contact (not) eligible?"
for other systems (issue 20, scope 4). The answer comes from consent.eligibility.eligibility_explain,
the selector's own rules evaluated for one contact, through the targets the apps registered (a
purpose by key, a list or journey by id), and is trimmed for the key's role like the page."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from consent.eligibility import Ineligibility, eligibility_explain, eligibility_targets
from consent.models import Purpose
from contacts.selectors import sees_sensitive
from staff.access_log import record_access
from staff.api_base import ID_MAX, ID_MIN
from staff.models import AccessLogEntry

TARGETS = ("purpose", "list", "journey")


class EligibilityQuerySerializer(serializers.Serializer):
    purpose = serializers.CharField(required=False, max_length=100, help_text="A purpose's key.")
    list = serializers.IntegerField(required=False, min_value=ID_MIN, max_value=ID_MAX)
    journey = serializers.IntegerField(required=False, min_value=ID_MIN, max_value=ID_MAX)
    min_level = serializers.IntegerField(required=False, min_value=0, max_value=5, default=0)
    needs_tracking = serializers.BooleanField(required=False, default=False)


class FindingSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(
        choices=Ineligibility.choices, source="reason", help_text="The rule's stable code."
    )
    title = serializers.CharField(help_text="What the rule asks.")
    met = serializers.BooleanField()
    words = serializers.CharField(help_text="Why the contact meets the rule or not, in words.")


class AnswerSerializer(serializers.Serializer):
    asked = serializers.CharField(help_text="What the contact was checked against.")
    eligible = serializers.BooleanField(help_text="Exactly what the eligibility selector answers.")
    summary = serializers.CharField()
    findings = FindingSerializer(many=True, help_text="Every rule that applies, in order.")
    hidden = serializers.IntegerField(help_text="Findings left out because the key's role may not see them.")


class EligibilitySerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    eligible = serializers.BooleanField(help_text="Every answer says eligible.")
    answers = AnswerSerializer(
        many=True, help_text="One per purpose, list and journey asked about (purpose, list, journey order)."
    )


_PARAMETERS = [
    OpenApiParameter("purpose", OpenApiTypes.STR, description="A purpose's key, e.g. `newsletter`."),
    OpenApiParameter(
        "list",
        {"type": "integer", "minimum": ID_MIN, "maximum": ID_MAX},
        description="A subscription list's id.",
    ),
    OpenApiParameter(
        "journey", {"type": "integer", "minimum": ID_MIN, "maximum": ID_MAX}, description="A journey's id."
    ),
    OpenApiParameter(
        "min_level",
        {"type": "integer", "minimum": 0, "maximum": 5},
        description="For a purpose or no target: the consent level needed (0–5). A list or journey "
        "brings its own.",
    ),
    OpenApiParameter(
        "needs_tracking",
        OpenApiTypes.BOOL,
        description="For a purpose or no target: interaction tracking is needed too.",
    ),
]

_NOT_ELIGIBLE = {
    "asked": "journey “Welcome”",
    "eligible": False,
    "summary": "Not eligible: Level Subscriptions is below the Marketing that journey “Welcome” needs "
    "(held on 2 March 2026 via API).",
    "findings": [
        {
            "rule": "restricted",
            "title": "Processing not restricted (GDPR Art. 18)",
            "met": True,
            "words": "Processing is not restricted.",
        },
        {
            "rule": "below_minimum",
            "title": "Consent level at least the minimum",
            "met": False,
            "words": "Level Subscriptions is below the Marketing that journey “Welcome” needs (held on 2 "
            "March 2026 via API).",
        },
    ],
    "hidden": 0,
}
_ELIGIBLE = {
    "asked": "purpose “Newsletter”",
    "eligible": True,
    "summary": "Eligible: every rule is met.",
    "findings": [
        {
            "rule": "no_purpose_consent",
            "title": "An explicit yes to the purpose (GDPR Art. 6(1)(a))",
            "met": True,
            "words": "Newsletter answered Yes on 1 March 2026 via Subscription center.",
        }
    ],
    "hidden": 0,
}
EXAMPLES = [
    OpenApiExample(
        "Not eligible for a journey",
        value={"contact": 17, "eligible": False, "answers": [_NOT_ELIGIBLE]},
        response_only=True,
        status_codes=["200"],
    ),
    OpenApiExample(
        "A purpose and a journey at once",
        value={"contact": 17, "eligible": False, "answers": [_ELIGIBLE, _NOT_ELIGIBLE]},
        response_only=True,
        status_codes=["200"],
    ),
    OpenApiExample(
        "No such journey",
        value={"detail": "There is no journey 404."},
        response_only=True,
        status_codes=["404"],
    ),
]


class ContactEligibilityMixin:
    """The eligibility action of the contacts API (same permissions and visibility as reading a
    contact; the read is written to the staff access log)."""

    @extend_schema(
        parameters=_PARAMETERS,
        responses={200: EligibilitySerializer},
        summary="Why a contact is (not) eligible",
        description="For a purpose (by key), a list or a journey (by id), or with none of them only "
        "the consent level: whether the contact may be processed, from the very rules the eligibility "
        "selector applies, rule by rule in words; one answer per purpose, list and journey given. "
        "Findings about fields the key's role may not see (a child, a restriction) are left out and "
        "counted in `hidden`. A purpose, list or journey that does not exist is a 404.",
        examples=EXAMPLES,
    )
    @action(detail=True, methods=["get"], url_path="eligibility", filter_backends=[], pagination_class=None)
    def eligibility(self, request, pk=None):
        contact = self.get_object()  # the contacts API's visibility: restricted ones for officers
        query = EligibilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        level_only = {"min_level": values["min_level"], "needs_tracking": values["needs_tracking"]}
        questions = []  # (who asks, eligible_contacts keywords)
        for key in TARGETS:
            if values.get(key) is None:
                continue
            found = self._target(key, values[key])
            if found is None:
                raise NotFound(f"There is no {key} {values[key]}.")
            asked, criteria = found
            # A purpose takes the level and tracking asked for; a list or journey brings its own.
            questions.append((asked, {**level_only, **criteria} if key == "purpose" else criteria))
        if not questions:
            questions.append(("this check", level_only))
        sensitive = sees_sensitive(request.user)
        answers = [
            (
                asked,
                eligibility_explain(contact_id=contact.pk, asked=asked, **criteria).for_viewer(
                    sees_sensitive=sensitive
                ),
            )
            for asked, criteria in questions
        ]
        record_access(request=request, action=AccessLogEntry.Action.API_READ, contact_ids=[contact.pk])
        return Response(
            {
                "contact": contact.pk,
                "eligible": all(explanation.eligible for _asked, explanation in answers),
                "answers": [
                    {
                        "asked": asked,
                        "eligible": explanation.eligible,
                        "summary": explanation.summary,
                        "findings": FindingSerializer(explanation.findings, many=True).data,
                        "hidden": explanation.hidden,
                    }
                    for asked, explanation in answers
                ],
            }
        )

    @staticmethod
    def _target(key: str, value) -> tuple[str, dict] | None:
        """(who asks, eligible_contacts keywords) through the target the app registered."""
        if key == "purpose":
            value = Purpose.objects.filter(slug=value).values_list("pk", flat=True).first()
            if value is None:
                return None
        registered = {t.key: t for t in eligibility_targets()}
        return registered[key].criteria(value) if key in registered else None
