"""Mail signals in (django-anymail's normalised tracking events): a hard bounce blocks the address,
soft bounces count, a spam complaint withdraws marketing and profiling through the consent service,
an unsubscribe reported by the provider leaves the list. Each provider event applies once. Opens
and clicks count only for the sends we track, as our own open image and redirect count them."""

from __future__ import annotations

import hashlib
import re

from django.db import IntegrityError, transaction

from consent.models import Source
from consent.services import consent_change
from contacts.deliverability import bounce_record
from contacts.models import Contact
from core.levels import ConsentLevel
from core.normalize import normalize_email
from journeys.models import Interaction
from journeys.tracking import provider_event_record
from mailsignals.models import MailSignal
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services import subscription_set

Kind = MailSignal.Kind
# A complaint ends what the person objected to: marketing and profiling (GDPR Art. 21(2)-(3)).
LEVEL_AFTER_COMPLAINT = ConsentLevel.SUBSCRIPTIONS
TRACKING_KINDS = {"opened": Interaction.Kind.EMAIL_OPEN, "clicked": Interaction.Kind.EMAIL_CLICK}
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,100}")  # a list's key; anything else names no list of ours


def signal_kind(event) -> str | None:
    """Which of our signals a normalised anymail event is, if any (opens, deliveries... are not)."""
    match event.event_type:
        case "bounced":
            return Kind.HARD_BOUNCE
        case "rejected" if event.reject_reason in ("bounced", "invalid"):
            return Kind.HARD_BOUNCE
        case "deferred":
            return Kind.SOFT_BOUNCE
        case "complained":
            return Kind.COMPLAINT
        case "unsubscribed":
            return Kind.UNSUBSCRIBE
    return None


def _plain(value, limit: int) -> str:
    """The provider's identifier as it came, if a column and the evidence can hold it; else ""."""
    text = str(value or "")
    return text if len(text) <= limit and text.isascii() and text.isprintable() else ""


def _event_id(esp: str, event) -> str:
    given = str(event.event_id or "")
    if _plain(given, 200):
        return given
    # None given, or one a column cannot hold as it is (too long, NUL, control characters): the
    # same report always hashes to the same id.
    parts = [
        esp,
        event.event_type,
        given,
        event.message_id or "",
        event.recipient or "",
        str(event.timestamp or ""),
    ]
    digest = hashlib.sha256("|".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return "sha256:" + digest


def tracking_event_apply(*, esp: str, event) -> bool:
    """A provider's open or click report: kept as an interaction as our own open image and click
    redirect keep it (journeys.tracking), only for a tracked send's tracking-allowed adult.
    Returns whether something was kept."""
    kind = TRACKING_KINDS.get(event.event_type)
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    if kind is None or "send" not in metadata:
        return False
    try:
        address = normalize_email(event.recipient or "")
    except Exception:
        address = ""
    agent = event.user_agent if isinstance(event.user_agent, str) and event.user_agent else None
    recorded = provider_event_record(
        kind=kind,
        send_id=metadata.get("send"),
        recipient=address,
        click_url=event.click_url if isinstance(event.click_url, str) else "",
        user_agent=agent,
        machine=_machine(event.esp_event),
        at=event.timestamp,
    )
    return recorded is not None


def _machine(esp_event) -> bool:
    """Whether the provider says a robot (a scanner, a privacy proxy) fetched it (Mailgun:
    client-info.bot)."""
    try:
        info = esp_event.get("event-data", {}).get("client-info", {})
        return bool(info.get("bot"))
    except AttributeError:
        return False


def mail_signal_apply(*, esp: str, event) -> MailSignal | None:
    """Apply one provider event to every contact holding its recipient address. Returns the record,
    or None for an event that is not a signal, has no usable address, or was applied before."""
    kind = signal_kind(event)
    try:
        address = normalize_email(event.recipient or "")
    except Exception:
        address = ""
    if kind is None or not address:
        return None
    listed = event.metadata.get("list") if isinstance(event.metadata, dict) else None
    slug_like = isinstance(listed, str) and SLUG.fullmatch(listed)
    chosen = SubscriptionList.objects.filter(slug=listed).first() if slug_like else None
    try:
        with transaction.atomic():
            contacts = list(Contact.objects.select_for_update().filter(email=address).order_by("pk"))
            record = MailSignal.objects.create(
                esp=esp,
                event_id=_event_id(esp, event),
                kind=kind,
                contact=contacts[0] if contacts else None,
                subscription_list=chosen,
            )
            evidence = {
                "provider": esp,
                "event_id": record.event_id,
                "message_id": _plain(event.message_id, 300),
            }
            _apply(kind, contacts, chosen, evidence)
    except IntegrityError:
        return None  # the provider sent this event before: applied once already
    return record


def _apply(kind: str, contacts: list[Contact], chosen, evidence: dict) -> None:
    if kind in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE):
        bounce_record(
            contacts=contacts,
            hard=kind == Kind.HARD_BOUNCE,
            evidence=f"{evidence['provider']}:{evidence['event_id']}",
        )
        return
    for contact in contacts:
        if kind == Kind.COMPLAINT:
            narrow = {}
            if contact.consent_given > LEVEL_AFTER_COMPLAINT:
                narrow["level"] = LEVEL_AFTER_COMPLAINT
            if contact.tracking_allowed:
                narrow["tracking_allowed"] = False
            if narrow:
                consent_change(contact=contact, source=Source.COMPLAINT, evidence=evidence, **narrow)
        # The list the mail came from, when the send named it; otherwise every list (an objection
        # to direct marketing must not depend on our bookkeeping).
        held = Subscription.objects.filter(contact=contact).exclude(status=Subscription.Status.UNSUBSCRIBED)
        if chosen is not None:
            held = held.filter(subscription_list=chosen)
        for sub in held.select_related("subscription_list"):
            subscription_set(
                contact=contact,
                subscription_list=sub.subscription_list,
                status=Subscription.Status.UNSUBSCRIBED,
                source=Source.COMPLAINT if kind == Kind.COMPLAINT else Source.PROVIDER,
            )
