"""Double opt-in: a widening waits in a ConsentRequest until the contact (or a child's guardian)
confirms it from their inbox. Requests are created, sent once, confirmed once, renewed."""

from __future__ import annotations

import enum
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Purpose, Source
from consent.rules import consent_refusal
from consent.services import consent_change
from contacts.activity import last_actions_record
from contacts.models import Contact
from contacts.services import contact_update
from core.levels import level_name, level_wording
from core.links import absolute
from core.models import ComplianceSettings
from core.security import recipient_limit_reached
from core.send_once import send_once
from subscriptions import tokens
from subscriptions.models import AccessToken, ConsentRequest, Subscription, SubscriptionList
from subscriptions.services.records import RequestMeta, Status, subscription_set, wording_current


def implied_by_lists(contact: Contact, changes: dict, list_ids) -> dict:
    """The explicit changes plus what joining these lists needs (their minimum level and purpose)."""
    full = json.loads(json.dumps(changes))
    full.pop("lists", None)
    for lst in SubscriptionList.objects.filter(pk__in=list_ids, active=True).select_related("purpose"):
        if lst.min_level > max(full.get("level", 0), contact.consent_given):
            full["level"] = int(lst.min_level)
        if lst.purpose_id:
            full.setdefault("purposes", {})[lst.purpose.slug] = True
    return full


def _check_request(contact: Contact, changes: dict) -> None:
    """The consent rules (consent.rules) against what confirming would apply, lists included."""
    full = implied_by_lists(contact, changes, changes.get("lists", []))
    answers = full.get("purposes", {})
    found = {p.slug: p for p in Purpose.objects.filter(slug__in=answers)}
    refusal = consent_refusal(
        source=Source.DOUBLE_OPT_IN,
        is_child=contact.is_child,
        level=full.get("level"),
        level_before=contact.consent_given,
        purposes={found.get(slug, slug): granted for slug, granted in answers.items()},
    )
    if refusal is not None:
        # The center shows it above its form, about the whole choice (a list can imply the level).
        raise ValidationError(refusal.messages)


def _recipient(contact: Contact, changes: dict) -> tuple[str, bool]:
    """Who confirms: the contact, or for a child the guardian (GDPR Art. 8(1))."""
    if contact.is_child:
        guardian = contact.guardian
        if not guardian or not guardian.email:
            raise ValidationError(
                _("A child's choices are confirmed by their guardian, who has no email address.")
            )
        return guardian.email, True
    return changes.get("email") or contact.email, False


@transaction.atomic
def consent_request_create(
    *,
    contact: Contact,
    changes: dict,
    origin: str,
    meta: RequestMeta,
    created_contact: bool = False,
    send: bool = True,
    lifetime: timedelta | None = None,
) -> ConsentRequest:
    """Store a widening for confirmation and queue its email (sent once the transaction commits).

    send=False: the caller mails confirmation_link(request) itself (a re-permission journey's
    email); lifetime: how long the link holds (default: the compliance settings' expiry)."""
    from subscriptions.tasks import send_consent_request  # the tasks import these services

    _check_request(contact, changes)
    sent_to, for_child = _recipient(contact, changes)
    if lifetime is None:
        lifetime = timedelta(hours=ComplianceSettings.load().double_opt_in_expiry_hours)
    nonce = secrets.token_urlsafe(32)
    token, _text = tokens.issue(
        kind=AccessToken.Kind.CONFIRM,
        contact=contact,
        lifetime=lifetime,
        raw=tokens.derive(nonce),
    )
    request = ConsentRequest.objects.create(
        contact=contact,
        token=token,
        nonce=nonce,
        changes=changes,
        wording=wording_current(),
        origin=origin,
        created_contact=created_contact,
        on_behalf_of_child=for_child,
        request_ip=meta.ip,
        request_user_agent=meta.user_agent[:300],
        sent_to=sent_to,
    )
    request.lists.set(changes.get("lists", []))
    for lst in request.lists.all():
        current = Subscription.objects.filter(contact=contact, subscription_list=lst).first()
        if current is None or current.status != Status.SUBSCRIBED:
            subscription_set(
                contact=contact, subscription_list=lst, status=Status.PENDING, source=Source.DOUBLE_OPT_IN
            )
    if send:
        transaction.on_commit(lambda: send_consent_request.delay(request.pk))
    return request


def confirmation_link(request: ConsentRequest) -> str:
    text = tokens.text_for(AccessToken.Kind.CONFIRM, tokens.derive(request.nonce))
    return absolute(reverse("subscriptions:confirm", args=[text]))


def consent_request_send(*, request_id: int, send) -> bool:
    """Send a request's email at most once, however often the task runs (core.send_once)."""
    return send_once(
        ConsentRequest,
        request_id,
        lambda request: send(request, confirmation_link(request)),
        done=lambda request: request.confirmed_at is not None,
    )


# Mail takes a minute or two to arrive; a resend asked for sooner mostly doubles the email.
RESEND_INTERVAL = timedelta(minutes=5)
# The per-recipient allowance (core.security.recipient_limit_reached) that resends and undos share.
RECIPIENT_LIMIT = "confirmation"


class Resent(enum.StrEnum):
    """What a click on "send it again" came to (strings, so templates compare them as text)."""

    SENDING = "sending"  # the same email goes out again
    ON_ITS_WAY = "on_its_way"  # the first email has not left yet: nothing more to send
    TOO_SOON = "too_soon"  # sent within RESEND_INTERVAL
    LIMITED = "limited"  # the inbox's hourly allowance is used up
    GONE = "gone"  # confirmed, expired, or not this contact's


def consent_request_resend(*, contact: Contact, request_id: int) -> Resent:
    """Email a waiting request again: the same link, through the same once-only sending.

    Clearing `sent_at` lets send_once send exactly once more (it then holds the last send); the row
    lock makes two clicks at once queue one email (the second finds it on its way). Limits: one
    resend per RESEND_INTERVAL, and the recipient's hourly allowance against mail bombing.
    """
    from subscriptions.tasks import send_consent_request  # the tasks import these services

    with transaction.atomic():
        request = (
            ConsentRequest.objects.select_for_update()
            .filter(pk=request_id, contact=contact, confirmed_at__isnull=True)
            .first()
        )
        if request is None or request.token.expired:
            return Resent.GONE
        if request.sent_at is None:
            # Queued or failed: another task is harmless, send_once sends it at most once.
            transaction.on_commit(lambda: send_consent_request.delay(request.pk))
            return Resent.ON_ITS_WAY
        if request.sent_at > timezone.now() - RESEND_INTERVAL:
            return Resent.TOO_SOON
        if recipient_limit_reached(RECIPIENT_LIMIT, request.sent_to):
            return Resent.LIMITED
        request.sent_at = request.send_claimed_at = None
        request.save(update_fields=["sent_at", "send_claimed_at"])
        transaction.on_commit(lambda: send_consent_request.delay(request.pk))
    return Resent.SENDING


class ConfirmationStatus(enum.StrEnum):
    """What a click on a confirmation link came to (strings, so templates compare them as text)."""

    CONFIRMED = "confirmed"
    ALREADY = "already"  # confirmed before: nothing more to do
    EXPIRED = "expired"
    INVALID = "invalid"  # forged or copied incompletely
    REFUSED = "refused"  # the rules refused it meanwhile (e.g. the contact became a child)


@dataclass
class Confirmation:
    status: ConfirmationStatus
    request: ConsentRequest | None = None
    message: str = ""


def consent_request_confirm(*, link: str, meta: RequestMeta, lists: set[int] | None = None) -> Confirmation:
    """Apply a request once. A second click is harmless; an expired or forged link changes nothing.

    `lists` are the requested lists the person ticked (default: all); the others are declined.
    The row lock on the link makes two clicks at once apply it once (the second sees it used).
    """
    with transaction.atomic():
        token = _confirmation_token(link)
        if isinstance(token, Confirmation):
            return token
        request = token.consent_request
        if request.confirmed_at:
            return Confirmation(ConfirmationStatus.ALREADY, request)
        requested = set(request.changes.get("lists", []))
        chosen = requested if lists is None else requested & set(lists)
        now = timezone.now()
        try:
            _confirmed_apply(token.contact, request, requested=requested, chosen=chosen, meta=meta)
        except ValidationError as error:
            return Confirmation(ConfirmationStatus.REFUSED, request, " ".join(error.messages))
        # Kept for the dashboard's confirmation rate, where a declined list counts as a "no".
        request.declined_lists.set(SubscriptionList.objects.filter(pk__in=requested - chosen))
        request.confirmed_at, request.confirm_ip = now, meta.ip
        request.confirm_user_agent = meta.user_agent[:300]
        request.save(update_fields=["confirmed_at", "confirm_ip", "confirm_user_agent"])
        token.used_at = now
        token.save(update_fields=["used_at"])
    return Confirmation(ConfirmationStatus.CONFIRMED, request)


def _confirmation_token(link: str) -> AccessToken | Confirmation:
    """The link's token, locked; or the answer for a link that cannot be confirmed."""
    try:
        return tokens.resolve(link, kind=AccessToken.Kind.CONFIRM, for_update=True)
    except tokens.InvalidLink:
        return Confirmation(ConfirmationStatus.INVALID)
    except tokens.ExpiredLink as expired:
        request = getattr(expired.token, "consent_request", None)
        if request is not None and request.confirmed_at:
            return Confirmation(ConfirmationStatus.ALREADY, request)
        return Confirmation(ConfirmationStatus.EXPIRED, request)


def _confirmed_apply(
    contact: Contact, request: ConsentRequest, *, requested: set[int], chosen: set[int], meta: RequestMeta
) -> None:
    """Apply what the request asked for (the chosen lists and what they need), all or nothing."""
    changes = implied_by_lists(contact, request.changes, chosen)
    evidence = {
        **meta.evidence(),
        "confirmation": request.pk,
        "requested_at": request.requested_at.isoformat(),
        "sent_to": request.sent_to,
        "wording": request.wording.digest,
    }
    # The confirmation page showed the wording in its own language (the person's, or the one they
    # switched to); kept too when it is not the version the request was made with.
    shown = wording_current()
    if shown.pk != request.wording_id:
        evidence["wording_confirmed"] = shown.digest
    if request.on_behalf_of_child:
        evidence.update(confirmed_by="guardian", guardian=contact.guardian_id)
    with transaction.atomic():
        # The person confirmed by their own click: a real action, even when it changes nothing.
        last_actions_record(moments={contact.pk: timezone.now()})
        if "email" in changes:
            contact_update(contact=contact, email=changes["email"], reason="confirmed by double opt-in")
        raise_level = changes.get("level", 0) > contact.consent_given
        # A re-permission restates yeses already held: recorded, and their clocks start again.
        renew = request.origin == "renewal"
        consent_change(
            contact=contact,
            source=Source.DOUBLE_OPT_IN,
            level=changes["level"] if raise_level else None,
            purposes=changes.get("purposes") or None,
            tracking_allowed=True if changes.get("tracking") else None,
            evidence=evidence,
            renew=renew,
        )
        for lst in SubscriptionList.objects.filter(pk__in=requested):
            subscription_set(
                contact=contact,
                subscription_list=lst,
                status=Status.SUBSCRIBED if lst.pk in chosen else Status.UNSUBSCRIBED,
                source=Source.DOUBLE_OPT_IN,
                renew=renew,
            )


def consent_request_renew(
    *, link: str | None = None, request: ConsentRequest | None = None, meta: RequestMeta
) -> ConsentRequest | None:
    """A fresh request (same changes, new link) for an unconfirmed one. None if not allowed.

    From a person: only for their expired link, at most three in an hour (no mail bombing).
    From an officer (`request` given): any unconfirmed request.
    """
    with transaction.atomic():
        if request is None:
            try:
                tokens.resolve(link or "", kind=AccessToken.Kind.CONFIRM)
                return None  # still valid: nothing to renew
            except tokens.InvalidLink:
                return None
            except tokens.ExpiredLink as expired:
                request = getattr(expired.token, "consent_request", None)
            if request is None:
                return None
            recent = ConsentRequest.objects.filter(
                contact=request.contact, requested_at__gte=timezone.now() - timedelta(hours=1)
            ).count()
            if recent >= 3:
                return None
        if request.confirmed_at:
            return None
        return consent_request_create(
            contact=request.contact, changes=request.changes, origin=request.origin, meta=meta
        )


def describe(changes: dict) -> list[str]:
    """What confirming a request does, in plain words, for the email and the confirmation page."""
    lines = []
    if "level" in changes:
        level = level_wording(changes["level"])
        lines.append(
            _("Consent level “%(level)s”: %(text)s") % {"level": level.name, "text": level.description}
        )
    # Names in the active language (the page's, or the email's: core.translations).
    names = {p.slug: p.shown_name for p in Purpose.objects.filter(slug__in=changes.get("purposes", {}))}
    for slug in changes.get("purposes", {}):
        lines.append(_("Yes to “%(purpose)s”") % {"purpose": names.get(slug, slug)})
    if changes.get("tracking"):
        lines.append(_("Allow us to record how you interact with our emails and pages"))
    for lst in SubscriptionList.objects.filter(pk__in=changes.get("lists", [])).select_related("purpose"):
        needs = []
        if lst.min_level > changes.get("level", 0):
            needs.append(level_name(lst.min_level))
        if lst.purpose_id and lst.purpose.slug not in changes.get("purposes", {}):
            needs.append(lst.purpose.shown_name)
        suffix = _(" (which needs: %(needs)s)") % {"needs": ", ".join(needs)} if needs else ""
        lines.append(_("Subscribe to “%(list)s”") % {"list": lst.shown_name} + suffix)
    if "email" in changes:
        lines.append(_("Use %(email)s as your email address") % {"email": changes["email"]})
    return lines
