"""What the subscriptions stop keeping: sign-ups nobody confirmed, links nobody can use."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact
from subscriptions.models import AccessToken, ConsentRequest


def unconfirmed_signups_purge() -> int:
    """Delete contacts a sign-up created but nobody confirmed before the link expired.

    GDPR Art. 5(1)(e): an address someone typed into a form is not kept without the owner's yes.
    """
    stale = ConsentRequest.objects.filter(
        created_contact=True, confirmed_at__isnull=True, token__expires_at__lt=timezone.now()
    ).values_list("contact_id", flat=True)
    confirmed_later = ConsentRequest.objects.filter(confirmed_at__isnull=False).values_list(
        "contact_id", flat=True
    )
    doomed = Contact.objects.filter(pk__in=stale, consent_given=0).exclude(pk__in=confirmed_later)
    doomed = doomed.filter(consent_changes__isnull=True)
    count = 0
    for contact in doomed.distinct().iterator():
        with transaction.atomic():
            contact.delete()
            count += 1
    return count


def expired_links_purge() -> int:
    """Delete expired center and confirmation links that no request keeps as evidence."""
    stale = AccessToken.objects.filter(expires_at__lt=timezone.now(), consent_request__isnull=True).exclude(
        kind=AccessToken.Kind.UNSUBSCRIBE  # leaving keeps working after expiry
    )
    return stale.delete()[0]
