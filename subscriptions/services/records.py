"""What every part of the subscriptions writes: a subscription's status, the wording shown, and
where a request came from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language

from consent.models import Purpose, Source
from contacts.models import Contact
from core.levels import ConsentLevel, level_wording
from core.translations import base_language
from subscriptions.models import Subscription, SubscriptionList, WordingVersion
from webhooks.models import EventType
from webhooks.outbox import event_publish

Status = Subscription.Status


@dataclass
class RequestMeta:
    """Where a request came from (the visitor's IP address and browser): evidence for the
    records, never logged."""

    ip: str | None = None
    user_agent: str = ""

    def evidence(self) -> dict:
        return {"ip": self.ip, "user_agent": self.user_agent[:300]}


def wording_current() -> WordingVersion:
    """The texts the public pages show now, in the language they are shown in (the active one),
    stored once per version: the evidence of what was agreed to, and in which language."""
    content = {
        "language": base_language(get_language()),
        "levels": {
            str(level.value): f"{text.name}: {text.description}"
            for level in ConsentLevel
            if (text := level_wording(level))
        },
        "purposes": {
            p.slug: f"{p.shown_name}: {p.shown_description}" for p in Purpose.objects.filter(active=True)
        },
        "lists": {
            lst.slug: f"{lst.shown_name}: {lst.shown_description}"
            for lst in SubscriptionList.objects.filter(active=True)
        },
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return WordingVersion.objects.get_or_create(digest=digest, defaults={"content": content})[0]


@transaction.atomic
def subscription_set(
    *,
    contact: Contact,
    subscription_list: SubscriptionList,
    status: str,
    source: str,
    reason: str = "",
    renew: bool = False,
) -> Subscription:
    """Set one subscription's status with history (the row lock keeps two writers in order).

    reason: the history row's change reason when more than the source's name (a lapse's rule and
    dates). renew: a subscription confirmed again by re-permission keeps its status but gets the
    date of the confirmation, the clock its consent's validity runs from (consent.retention)."""
    sub = (
        Subscription.objects.select_for_update()
        .filter(contact=contact, subscription_list=subscription_list)
        .first()
    )
    sub = sub or Subscription(contact=contact, subscription_list=subscription_list)
    unchanged = bool(sub.pk) and sub.status == status
    if unchanged and not (renew and status == Status.SUBSCRIBED):
        return sub
    sub.status, sub.source, sub.changed_at = status, source, timezone.now()
    sub._change_reason = reason or Source(source).label
    sub.full_clean(validate_unique=False)
    sub.save()
    if status in _EVENTS and not unchanged:
        event_publish(
            type=_EVENTS[status],
            contact_id=contact.pk,
            data={"contact": {"id": contact.pk}, "list": subscription_list.slug, "source": source},
        )
    return sub


# What downstream systems hear of; a pending subscription is nothing to act on yet.
_EVENTS = {Status.SUBSCRIBED: EventType.SUBSCRIBED, Status.UNSUBSCRIBED: EventType.UNSUBSCRIBED}
