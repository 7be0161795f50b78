"""The one eligibility query (rule 2 of DESIGN.md): which contacts may be processed, and for what."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from consent.levels import CHILD_MAXIMUM, ConsentLevel
from consent.models import Purpose, PurposeConsent
from contacts.models import Contact


def eligible_contacts(
    *,
    min_level: int,
    purpose: Purpose | str | None = None,
    needs_tracking: bool = False,
    queryset: QuerySet[Contact] | None = None,
) -> QuerySet[Contact]:
    """Contacts that may be processed at `min_level`, for `purpose` if given, as one SQL query.

    Applies: the level hierarchy (higher includes lower); restriction of processing (GDPR Art. 18,
    no processing at all); children never profiled (GDPR Art. 8); a purpose needs an explicit yes
    (GDPR Art. 6(1)(a)); interaction tracking needs the tracking choice (ePrivacy Art. 5(3)).
    Later issues add erasure suppression and unsubscribes here, so every caller gains them.
    """
    level = ConsentLevel(int(min_level))
    contacts = (queryset if queryset is not None else Contact.objects.all()).filter(
        processing_restricted=False, consent_given__gte=level
    )
    if level > CHILD_MAXIMUM:
        contacts = contacts.filter(is_child=False)
    if needs_tracking:
        contacts = contacts.filter(tracking_allowed=True)
    if purpose is not None:
        granted = PurposeConsent.objects.filter(contact=OuterRef("pk"), granted=True)
        granted = (
            granted.filter(purpose__slug=purpose)
            if isinstance(purpose, str)
            else granted.filter(purpose=purpose)
        )
        contacts = contacts.filter(Exists(granted))
    return contacts


def is_eligible(contact: Contact, **criteria) -> bool:
    """The same rule for one contact, checked in the database (not from a stale instance)."""
    return eligible_contacts(queryset=Contact.objects.filter(pk=contact.pk), **criteria).exists()
