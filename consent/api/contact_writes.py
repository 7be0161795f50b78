"""Creating and correcting a contact through the API: the identity fields only, through the same
service the admin's contact form uses (consent.contact_edits.contact_save_with_consent, which
writes the history, announces a rectification to downstream systems and orders profile and
consent writes). Consent is not written here: it goes through POST /contacts/{id}/consent/.

Personal data travels in the body only; the URL holds the contact's id. An identity of an erased
person (the suppression list) or an email address another contact has is refused, nothing saved."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import transaction
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from consent.api.examples import CONTACT, answer
from consent.contact_edits import contact_save_with_consent
from consent.models import Source
from contacts.services import contact_identity_check
from core.api_fields import StrictCharField
from core.locks import lock_name
from core.normalize import normalize_email

# Written only through the consent action; a client sending them is told where they go.
CONSENT_KEYS = ("consent_given", "consent_level", "tracking_allowed", "purposes", "level")
REASON_PATTERN = r"^[^\u0000]*\S[^\u0000]*$"  # at least one character that is not a space


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": 2000, "pattern": REASON_PATTERN})
class ReasonField(StrictCharField):
    pass


class ContactIdentitySerializer(serializers.Serializer):
    first_name = StrictCharField(required=False, allow_blank=True, max_length=150)
    last_name = StrictCharField(required=False, allow_blank=True, max_length=150)
    email = StrictCharField(
        required=False, allow_blank=True, max_length=254, help_text="Stored lower-cased and trimmed."
    )
    phone = StrictCharField(
        required=False, allow_blank=True, max_length=64, help_text="Any notation; stored as E.164."
    )
    country = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=2,
        validators=[RegexValidator(r"^([A-Za-z]{2})?$", "Use the two-letter country code, e.g. DE.")],
        help_text="ISO 3166 alpha-2 code, e.g. DE.",
    )
    language = serializers.ChoiceField(
        required=False,
        allow_blank=True,
        choices=settings.LANGUAGES,
        help_text="The language of this person's pages and emails; blank: not known.",
    )

    def validate(self, attrs):
        sent = self.initial_data if isinstance(self.initial_data, dict) else {}
        if consent := [key for key in CONSENT_KEYS if key in sent]:
            raise serializers.ValidationError(
                {
                    key: ["Consent is changed through POST /api/v1/contacts/{id}/consent/, not here."]
                    for key in consent
                }
            )
        return attrs


class ContactCreateSerializer(ContactIdentitySerializer):
    justification = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Why the contact is created, kept in its history (default: “created through the API”).",
    )


class ContactUpdateSerializer(ContactIdentitySerializer):
    justification = ReasonField(
        max_length=2000,
        help_text="Why the data is corrected (GDPR Art. 16), kept in the contact's history, "
        "e.g. “rectification requested in DSR-1A2B3C4D”.",
    )

    # Every field but the justification is optional already. drf-spectacular documents a PATCH
    # body as partial (all optional), which would drop the justification's "required": never partial.
    @property
    def partial(self):
        return False

    @partial.setter
    def partial(self, value):
        pass


CREATE_EXAMPLE = OpenApiExample(
    "A new contact",
    value={
        "first_name": "Holly",
        "last_name": "Hansen",
        "email": "holly@contoso.com",
        "phone": "+49 30 1234567",
        "country": "DE",
        "language": "de",
        "justification": "registered in the web shop",
    },
    request_only=True,
)
UPDATE_EXAMPLE = OpenApiExample(
    "A corrected address",
    value={"email": "holly.hansen@contoso.com", "justification": "rectification requested in DSR-1A2B3C4D"},
    request_only=True,
)
REFUSED = OpenApiResponse(
    description="Refused, nothing saved: the address or number belongs to an erased person, another "
    "contact has the email address, or the contact's rules refuse the values (e.g. an address that "
    "is not one, no email address and no phone number).",
)


def _refusal(error: ValidationError) -> Response:
    # 409 like the consent action: the body is well formed; the data on file or the contact's
    # rules refuse it (a client cannot tell from the schema that an address is erased).
    body = {"detail": " ".join(error.messages)}
    if hasattr(error, "error_dict"):
        body["errors"] = {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return Response(body, status=409)


class ContactWriteMixin:
    """create (POST /contacts/) and partial_update (PATCH /contacts/{id}/) for ContactViewSet."""

    def _api_record(self, request) -> dict:
        api_key = request.auth if hasattr(request.auth, "prefix") else None
        channel = f"api:{api_key.name}"[:64] if api_key else "api"
        return {"actor": request.user, "source": Source.API, "channel": channel}

    def _save(self, request, *, contact, profile: dict, reason: str):
        record = self._api_record(request)
        email, phone = profile.get("email", ""), profile.get("phone", "")
        if contact is not None:  # only the identities that change are checked
            email = email if "email" in profile and email.strip().lower() != contact.email else ""
            phone = phone if "phone" in profile and phone != contact.phone else ""
        try:
            with transaction.atomic():
                try:
                    normalised = normalize_email(email)
                except ValidationError:
                    normalised = ""
                if normalised:
                    # Two requests creating one address at once make one contact, not two.
                    lock_name("contact-email", normalised)
                contact_identity_check(email=email, phone=phone, contact=contact)
                saved = contact_save_with_consent(
                    contact=contact,
                    profile=profile,
                    consent={},
                    level_before=contact.consent_given if contact else 0,
                    reason=reason,
                    justification=reason,
                    **record,
                )
        except ValidationError as error:
            return None, _refusal(error)
        return saved, None

    @extend_schema(
        request=ContactCreateSerializer,
        summary="Create a contact",
        description="Identity fields only, at consent level 0: give consent afterwards with "
        "POST /api/v1/contacts/{id}/consent/. An email address or phone number of an erased person, "
        "or an email address another contact has, is refused with 409 and nothing is saved.",
        examples=[CREATE_EXAMPLE, answer("The contact as saved", CONTACT, "201")],
    )
    def create(self, request, *args, **kwargs):
        data = ContactCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("justification", "").strip() or "created through the API"
        saved, refused = self._save(request, contact=None, profile=values, reason=reason)
        if refused:
            return refused
        contact = self.get_queryset().get(pk=saved.pk)
        self._log([contact])
        return Response(self.get_serializer(contact).data, status=201)

    @extend_schema(
        request=ContactUpdateSerializer,
        summary="Correct a contact's identity fields",
        description="Only the fields sent change, with the justification in the contact's history; "
        "downstream systems hear of the rectification (GDPR Art. 16 and 19). Consent fields are not "
        "written here. A new email address or phone number that belongs to an erased person, or an "
        "email address another contact has, is refused with 409 and nothing is saved.",
        examples=[UPDATE_EXAMPLE, answer("The contact as corrected", CONTACT)],
    )
    def partial_update(self, request, *args, **kwargs):
        contact = self.get_object()
        data = ContactUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("justification").strip()
        saved, refused = self._save(request, contact=contact, profile=values, reason=reason)
        if refused:
            return refused
        contact = self.get_queryset().get(pk=saved.pk)
        self._log([contact])
        return Response(self.get_serializer(contact).data)
