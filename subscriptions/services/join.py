"""Joining a list on another system's word (the API): never a subscription at once, always the
double opt-in every other way onto a list starts (pending, and a confirmation email)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from contacts.models import Contact
from core.security import recipient_limit_reached
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services.center_read import waiting_of
from subscriptions.services.double_opt_in import RECIPIENT_LIMIT, consent_request_create
from subscriptions.services.records import RequestMeta, Status
from subscriptions.services.rejoin import Rejoin, Rejoined, _Limited


def list_join(
    *, contact: Contact, subscription_list: SubscriptionList, meta: RequestMeta, origin: str
) -> Rejoin:
    """Ask the contact (a child's guardian) to confirm joining a list: a ConsentRequest and its
    email, the subscription pending until the link is confirmed (GDPR Art. 7(1): consent the
    controller can demonstrate). Already subscribed or already waiting: nothing new is sent.

    Refused (nothing created): a closed list, a restricted contact (GDPR Art. 18: not even this
    email), an adult without an email address, what the consent rules refuse (a child and a list
    needing Profiling), and an inbox that got its hour's confirmation emails. The row lock on the
    subscription makes two requests at once ask once (the second finds it pending)."""
    if not subscription_list.active:
        return Rejoin(
            Rejoined.REFUSED, subscription_list, message=_("This list is closed to new subscribers.")
        )
    if contact.processing_restricted:
        return Rejoin(
            Rejoined.REFUSED,
            subscription_list,
            message=_(
                "Processing of this contact is restricted (GDPR Art. 18): no confirmation email is sent."
            ),
        )
    if not contact.is_child and not contact.email:
        return Rejoin(
            Rejoined.REFUSED,
            subscription_list,
            message=_("This contact has no email address to confirm the subscription from."),
        )
    try:
        with transaction.atomic():
            sub = (
                Subscription.objects.select_for_update()
                .filter(contact=contact, subscription_list=subscription_list)
                .first()
            )
            if sub is not None and sub.status == Status.SUBSCRIBED:
                return Rejoin(Rejoined.NOTHING, subscription_list)
            if sub is not None and sub.status == Status.PENDING:
                return Rejoin(Rejoined.WAITING, subscription_list)
            request = consent_request_create(
                contact=contact, changes={"lists": [subscription_list.pk]}, origin=origin, meta=meta
            )
            # Rolling back drops the request and its queued email together.
            if recipient_limit_reached(RECIPIENT_LIMIT, request.sent_to):
                raise _Limited
    except _Limited:
        return Rejoin(
            Rejoined.LIMITED,
            subscription_list,
            message=_("This address got enough confirmation emails for now; try again in an hour."),
        )
    except ValidationError as error:
        return Rejoin(Rejoined.REFUSED, subscription_list, message=" ".join(error.messages))
    return Rejoin(Rejoined.ASKED, subscription_list, waiting_of(request))
