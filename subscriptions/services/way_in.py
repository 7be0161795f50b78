"""The way in for someone without a link: "email me my link" on /preferences/.

The page answers the same for every address and does the same work for every address (it only
queues this module's email); the lookup, the limits and the sending happen after the response, in
a Celery task, so neither the page nor its timing tells whether an address is known or erased.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from contacts.models import Contact
from contacts.suppression import is_suppressed
from core.languages import in_language
from core.mail import templated_message
from core.normalize import normalize_email
from core.security import recipient_limit_reached
from subscriptions.services.links import center_link

# More contacts than this under one address (a shared family inbox) get the first ones' links; the
# rest reach the center through any of them being corrected, or through an officer.
MAX_LINKS_PER_EMAIL = 5


def center_link_request(*, email: str) -> None:
    """Queue "email me my link" for an address, whoever it belongs to; sent after commit.

    The caller answers the same whatever happens next (no enumeration, GDPR Art. 5(1)(f))."""
    from subscriptions.tasks import send_center_link  # tasks import services: resolved at call time

    transaction.on_commit(lambda: send_center_link.delay(email))


def center_link_send(*, email: str) -> int:
    """Email a fresh subscription center link to the contacts at `email`; returns how many links
    were sent (0 for an unknown, erased or over-asked address).

    An erased identity (contacts.suppression, GDPR Art. 17) gets nothing even if a contact with
    the address exists again. A restricted contact (Art. 18) does get their link: it is the
    person's own request, and the center is where they see and change what is processed.
    Each address gets CONFIRMATION_EMAILS_PER_ADDRESS_PER_HOUR such emails an hour, however
    many clients ask (core.security.recipient_limit_reached), so nobody's inbox can be flooded.
    """
    try:
        email = normalize_email(email)
    except ValidationError:
        return 0
    if not email or recipient_limit_reached("center-link", email) or is_suppressed(email=email):
        return 0
    contacts = list(Contact.objects.filter(email=email).order_by("id")[:MAX_LINKS_PER_EMAIL])
    if not contacts:
        return 0
    links = [{"contact": contact, "link": center_link(contact=contact)} for contact in contacts]
    context = {
        "links": links,
        "days": settings.SUBSCRIPTION_CENTER_LINK_DAYS,
    }
    with in_language(*(contact.language for contact in contacts)):
        templated_message(
            subject=_("Your link to your privacy choices"), template="center_link", context=context, to=email
        ).send()
    return len(links)
