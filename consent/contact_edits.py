"""One edit of a contact that changes both its profile and its consent: the order of the two
writes is a consent rule, so it lives here and not in the screen that collects the edit."""

from __future__ import annotations

from django.db import transaction

from consent.services import consent_change
from contacts.models import Contact
from contacts.services import contact_create, contact_update


@transaction.atomic
def contact_save_with_consent(
    *,
    contact: Contact | None,
    profile: dict,
    consent: dict,
    level_before: int = 0,
    actor=None,
    reason: str,
    source: str,
    justification: str = "",
    channel: str = "",
) -> Contact:
    """Create (contact=None) or update a contact's profile through contacts.services and change
    its consent (`consent`: consent_change's level/purposes/tracking_allowed) through
    consent.services (rule 1). `reason` is the profile history's; `justification` the consent
    record's. `level_before` is the level the editor saw. Returns the contact as saved (the
    instance passed in, read again).

    Lowering first and raising last keeps every intermediate state valid, e.g. marking a
    contact at Profiling as a child while lowering it to Marketing in the same save (GDPR Art. 8:
    a child is never at Profiling, not even between two writes)."""
    record = {"source": source, "actor": actor, "justification": justification, "channel": channel, **consent}
    if contact is None:
        contact = contact_create(actor=actor, reason=reason, **profile)
        if consent:
            consent_change(contact=contact, **record)
    else:
        lowers_level = "level" in consent and consent["level"] < level_before
        if lowers_level:
            consent_change(contact=contact, **record)
        contact_update(contact=contact, actor=actor, reason=reason, **profile)
        if consent and not lowers_level:
            consent_change(contact=contact, **record)
    # Both services wrote the row; the instance passed in holds neither's last word.
    contact.refresh_from_db()
    return contact
