"""Writes to contacts that carry a rule. Consent fields are not written here: see consent.services."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from contacts.models import Contact
from contacts.signals import profile_changed
from contacts.suppression import is_suppressed
from core.normalize import normalize_email

# The consent service owns these (rule 1 of DESIGN.md).
CONSENT_FIELDS = frozenset({"consent_given", "tracking_allowed"})
PROFILE_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "phone",
        "country",
        "language",
        "is_child",
        "guardian",
        "processing_restricted",
        "date_of_birth",
    }
)


def _check_fields(fields: dict) -> None:
    consent = CONSENT_FIELDS & fields.keys()
    if consent:
        raise ValidationError(
            _("Consent is changed through the consent service, not here: %s") % ", ".join(consent)
        )
    unknown = fields.keys() - PROFILE_FIELDS
    if unknown:
        raise ValidationError(_("Unknown contact fields: %s") % ", ".join(sorted(unknown)))


def contact_create(*, actor=None, reason: str = "", **fields) -> Contact:
    """Create a contact at consent level 0 (none); raise its consent afterwards with consent_change."""
    _check_fields(fields)
    contact = Contact(**fields)
    contact.full_clean()
    contact._history_user = actor
    contact._change_reason = reason or "created"
    with transaction.atomic():
        contact.save()
    return contact


def contacts_create(*, people: list[dict], actor=None, reason: str = "") -> list[Contact]:
    """Create many contacts at consent level 0 in one insert, each validated as contact_create
    validates it, with their history rows. On any invalid one nothing is created."""
    from core.bulk import bulk_insert_with_history

    contacts = []
    for fields in people:
        _check_fields(fields)
        contact = Contact(**fields)
        # The table's CHECK constraints guard the rest; validating them here costs a query each.
        contact.full_clean(validate_unique=False, validate_constraints=False)
        contacts.append(contact)
    with transaction.atomic():
        bulk_insert_with_history(Contact, contacts, user=actor, reason=reason or "created")
    return contacts


def _profile(contact: Contact) -> dict:
    return {name: getattr(contact, "guardian_id" if name == "guardian" else name) for name in PROFILE_FIELDS}


def contact_update(*, contact: Contact, actor=None, reason: str = "", **fields) -> Contact:
    """Change profile fields (names, email, phone, child/guardian, restriction) with history."""
    _check_fields(fields)
    with transaction.atomic():
        # Lock so a concurrent consent change and this profile edit do not overwrite each other.
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        changed = [name for name, value in fields.items() if getattr(locked, name) != value]
        if not changed:
            return locked
        before = _profile(locked)
        for name in changed:
            setattr(locked, name, fields[name])
        locked.full_clean()
        locked._history_user = actor
        locked._change_reason = reason or "profile updated"
        # clean() normalises email and phone even when they were not passed in.
        locked.save(update_fields=sorted({*changed, "email", "phone", "country", "updated_at"}))
        after = _profile(locked)
        differences = {name: (before[name], after[name]) for name in after if before[name] != after[name]}
        # Inside the transaction: what listens (the outbox of downstream events) commits with the change.
        profile_changed.send(sender=Contact, contact=locked, changes=differences)
    for name in changed:
        setattr(contact, name, getattr(locked, name))
    return locked


def contact_language_set(*, contact: Contact, language: str, actor=None, reason: str = "") -> bool:
    """Set the language a person's pages and emails use, with history. Not consent: it changes
    nothing that is processed, so it is written here and never as a consent change record.
    True when it changed; a code that is not one of settings.LANGUAGES is refused."""
    if language == contact.language:
        return False
    contact_update(contact=contact, actor=actor, reason=reason or "language chosen", language=language)
    return True


def contact_identity_check(*, email: str = "", phone: str = "", contact: Contact | None = None) -> None:
    """Refuse an identity before a contact is created with it or given it: an email address or
    phone number of an erased person (the suppression list, GDPR Art. 17: an erased person is not
    re-created from another system's copy), or an email address another contact has (one person,
    one record). Values that do not normalise are left to the model's validation. Call it in the
    transaction that saves, under lock_name("contact-email", email) so two creates cannot race."""
    if is_suppressed(email=email, phone=phone):
        raise ValidationError(
            _(
                "This email address or phone number belongs to a person whose data was erased; it "
                "cannot be used again unless a privacy officer lifts the suppression."
            ),
            code="suppressed",
        )
    try:
        email = normalize_email(email)
    except ValidationError:
        return
    others = Contact.objects.filter(email=email) if email else Contact.objects.none()
    if contact is not None:
        others = others.exclude(pk=contact.pk)
    if others.exists():
        raise ValidationError(_("Another contact has this email address already."), code="duplicate")
