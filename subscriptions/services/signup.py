"""The ways onto and off a list for people without an account: the public sign-up form and the
one-click unsubscribe, and the emailed invitation back to the subscription center."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from consent.models import Source
from contacts.models import Contact
from contacts.services import contact_create
from contacts.suppression import is_suppressed
from core.languages import known_language
from core.locks import lock_name
from core.normalize import normalize_email
from core.security import recipient_limit_reached
from subscriptions import tokens
from subscriptions.models import AccessToken, ConsentRequest, SubscriptionList
from subscriptions.services.double_opt_in import consent_request_create
from subscriptions.services.links import center_link
from subscriptions.services.opt_out import opt_out_siblings
from subscriptions.services.records import RequestMeta, Status, subscription_set


def signup(
    *,
    subscription_list: SubscriptionList,
    email: str,
    first_name: str,
    meta: RequestMeta,
    language: str = "",
) -> ConsentRequest | None:
    """Sign-up form: find or create the contact (pending, level 0) and ask for confirmation.

    An erased person's address (suppression list) is refused: nothing is created and nothing is
    sent (None); an officer can lift the suppression if that person asks to come back. So is an
    address that got its hour's confirmation emails already. Callers answer the same in every case
    (no enumeration). A new contact keeps `language` (the one the page was shown in) for its
    pages and emails; a known contact's stored language is theirs to change in the center.
    """
    email = normalize_email(email)
    if is_suppressed(email=email):
        return None
    if recipient_limit_reached("signup", email):
        return None  # enough confirmation emails to this inbox for now, whoever keeps asking
    with transaction.atomic():
        # Two sign-ups of one new address at once make one contact, not two (see core.locks).
        lock_name("signup-contact", email)
        contact = Contact.objects.filter(email=email).order_by("id").first()
        created = contact is None
        if created:
            contact = contact_create(
                email=email,
                first_name=first_name.strip()[:150],
                language=known_language(language),
                reason="public sign-up form",
            )
        try:
            with transaction.atomic():
                return consent_request_create(
                    contact=contact,
                    changes={"lists": [subscription_list.pk]},
                    origin="signup",
                    meta=meta,
                    created_contact=created,
                )
        except ValidationError:
            # The address is a child's whose guardian has no email (nobody can confirm), or the
            # list needs more than a child may give: nothing is sent, and the visitor sees the
            # page any address gets, so it does not tell them the address belongs to a child.
            return None


def unsubscribe(*, link: str) -> SubscriptionList | None:
    """One-click unsubscribe (RFC 8058). Idempotent; an expired unsubscribe link still works,
    because leaving must never be harder than joining. Returns the list, or None if the link is forged."""
    try:
        token = tokens.resolve(link, kind=AccessToken.Kind.UNSUBSCRIBE)
    except tokens.InvalidLink:
        return None
    except tokens.ExpiredLink as expired:
        token = expired.token
    with transaction.atomic():
        subscription_set(
            contact=token.contact,
            subscription_list=token.subscription_list,
            status=Status.UNSUBSCRIBED,
            source=Source.SUBSCRIPTION_CENTER,
        )
        opt_out_siblings(
            token.contact,
            narrow={},
            left=[token.subscription_list_id],
            evidence={"page": "one-click unsubscribe"},
        )
    return token.subscription_list


def center_invitation_send(*, contact_id: int, send) -> bool:
    """Email a contact a fresh subscription center link (e.g. when they come of age)."""
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None or not contact.email or contact.processing_restricted:
        return False  # restricted: no processing at all, not even this email (GDPR Art. 18)
    send(contact, center_link(contact=contact))
    return True
