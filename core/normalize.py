"""Canonical forms of contact identifiers, shared by forms, services and imports."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased: contacts are matched on addresses case-insensitively."""
    email = (value or "").strip().lower()
    if email:
        validate_email(email)
    return email


def normalize_phone(value: str, *, region: str | None = None) -> str:
    """E.164 (+4930123456), so one number written three ways is one number."""
    raw = (value or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("“%(value)s” is not a phone number."), params={"value": raw}) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("“%(value)s” is not a valid phone number."), params={"value": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
