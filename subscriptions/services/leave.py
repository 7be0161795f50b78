"""Leaving everything at once: every list left and consent lowered so that no marketing and no
profiling remains, from one button in the center or the "stop all marketing" link of a journey
email that belongs to no list (such mail has no list to leave, so this is its way out)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from consent.models import PurposeConsent, Source
from consent.services import consent_change
from contacts.models import Contact
from core.levels import ConsentLevel
from subscriptions import tokens
from subscriptions.models import AccessToken, Subscription
from subscriptions.services.opt_out import opt_out_siblings
from subscriptions.services.records import RequestMeta, Status, subscription_set, wording_current

# What stays after leaving everything: messages the person needs for what they asked for
# (orders, receipts). Subscriptions, marketing and profiling are the levels above it.
LEVEL_AFTER_LEAVING = ConsentLevel.TRANSACTIONAL


@dataclass
class LeaveOutcome:
    """What leaving everything changed: the lists left and whether consent was lowered."""

    lists_left: list[str] = field(default_factory=list)
    consent_lowered: bool = False


def everything_leave(
    *, contact: Contact, meta: RequestMeta, page: str = "subscription center"
) -> LeaveOutcome:
    """Leave every list and withdraw marketing, profiling, tracking and every purpose answer, at once.

    GDPR Art. 7(3) and 21(2)-(3): withdrawing must be as easy as giving, and an objection to
    direct marketing ends it. Applied through consent.services (one record per changed field) in
    one transaction; with email-level opt-out on it reaches every contact sharing the address.
    Idempotent: leaving again changes and records nothing.
    """
    outcome = LeaveOutcome()
    with transaction.atomic():
        # The lock keeps a center save or a confirmation of the same contact from interleaving.
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        narrow: dict = {}
        if contact.consent_given > LEVEL_AFTER_LEAVING:
            narrow["level"] = LEVEL_AFTER_LEAVING
        granted = PurposeConsent.objects.filter(contact=contact, granted=True).select_related("purpose")
        purposes = {answer.purpose.slug: False for answer in granted}
        if purposes:
            narrow["purposes"] = purposes
        if contact.tracking_allowed:
            narrow["tracking_allowed"] = False
        evidence = {**meta.evidence(), "page": page, "action": "leave everything"}
        evidence["wording"] = wording_current().digest
        if narrow:
            consent_change(contact=contact, source=Source.SUBSCRIPTION_CENTER, evidence=evidence, **narrow)
            outcome.consent_lowered = True
        held = Subscription.objects.filter(contact=contact).exclude(status=Status.UNSUBSCRIBED)
        left = []
        for sub in held.select_related("subscription_list"):
            subscription_set(
                contact=contact,
                subscription_list=sub.subscription_list,
                status=Status.UNSUBSCRIBED,
                source=Source.SUBSCRIPTION_CENTER,
            )
            left.append(sub.subscription_list_id)
            outcome.lists_left.append(sub.subscription_list.shown_name)
        opt_out_siblings(contact, narrow=narrow, left=left, evidence=evidence)
    return outcome


def everything_leave_by_link(*, link: str, meta: RequestMeta) -> LeaveOutcome:
    """The "stop all marketing" link's POST: leave everything for its contact. Raises
    tokens.InvalidLink (forged, unknown) or tokens.ExpiredLink, and then changes nothing."""
    token = tokens.resolve(link, kind=AccessToken.Kind.LEAVE)
    return everything_leave(contact=token.contact, meta=meta, page="stop all marketing link")
