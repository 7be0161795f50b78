"""Undoing an unsubscribe: never a silent re-subscribe, always a new double opt-in for the list.

Leaving applies at once; coming back widens processing again, so it waits for a confirmation
from the inbox like any other joining (the rule of subscriptions.services.center).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from contacts.models import Contact
from core.ids import parse_id
from core.security import recipient_limit_reached
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services.center_read import Waiting, waiting_of
from subscriptions.services.double_opt_in import RECIPIENT_LIMIT, consent_request_create
from subscriptions.services.records import RequestMeta, Status


class Rejoined(enum.StrEnum):
    """What a click on "undo" came to (strings, so templates compare them as text)."""

    ASKED = "asked"  # a new confirmation email is on its way
    WAITING = "waiting"  # a confirmation for this list is already waiting
    LIMITED = "limited"  # the inbox's hourly allowance is used up: nothing created
    REFUSED = "refused"  # the consent rules refuse it (message says why): nothing created
    NOTHING = "nothing"  # not a list this contact left


@dataclass
class Rejoin:
    status: Rejoined
    subscription_list: SubscriptionList | None = None
    waiting: Waiting | None = None
    message: str = ""


class _Limited(Exception):
    pass


def list_rejoin(*, contact: Contact, subscription_list: SubscriptionList, meta: RequestMeta) -> Rejoin:
    """Ask the contact to confirm joining a list they left: a new ConsentRequest and its email.

    The subscription stays unsubscribed until the emailed link is confirmed (it shows as pending).
    The row lock on the subscription makes two clicks at once ask once (the second finds it pending).
    """
    if not subscription_list.active:
        return Rejoin(Rejoined.NOTHING, subscription_list)
    try:
        with transaction.atomic():
            sub = (
                Subscription.objects.select_for_update()
                .filter(contact=contact, subscription_list=subscription_list)
                .first()
            )
            if sub is None or sub.status == Status.SUBSCRIBED:
                return Rejoin(Rejoined.NOTHING, subscription_list)
            if sub.status == Status.PENDING:
                return Rejoin(Rejoined.WAITING, subscription_list)
            request = consent_request_create(
                contact=contact, changes={"lists": [subscription_list.pk]}, origin="center", meta=meta
            )
            # Counted against the address the request goes to (a child's guardian's, too); over the
            # allowance, rolling back drops the request and its queued email together.
            if recipient_limit_reached(RECIPIENT_LIMIT, request.sent_to):
                raise _Limited
    except _Limited:
        return Rejoin(Rejoined.LIMITED, subscription_list)
    except ValidationError as error:
        return Rejoin(Rejoined.REFUSED, subscription_list, message=" ".join(error.messages))
    return Rejoin(Rejoined.ASKED, subscription_list, waiting_of(request))


def center_rejoin(*, contact: Contact, list_id: str, meta: RequestMeta) -> Rejoin:
    """The center's undo: only a public, active list (the lists the center offers)."""
    if (pk := parse_id(list_id)) is None:
        return Rejoin(Rejoined.NOTHING)
    subscription_list = SubscriptionList.objects.filter(pk=pk, active=True, public=True).first()
    if subscription_list is None:
        return Rejoin(Rejoined.NOTHING)
    return list_rejoin(contact=contact, subscription_list=subscription_list, meta=meta)
