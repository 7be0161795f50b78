"""Subscriptions, the subscription center's changes and double opt-in.

Rule: what narrows processing (lower level, "no", unsubscribe, refusing tracking) applies at once;
what widens it (higher level, new "yes", new subscription, allowing tracking, a new email address)
waits in a ConsentRequest until the contact confirms it from their inbox. Consent itself is
written only by consent.services.consent_change.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Purpose, PurposeConsent, Source
from consent.services import consent_change
from contacts.models import Contact
from contacts.services import contact_create, contact_update
from contacts.suppression import is_suppressed
from core.levels import CHILD_MAXIMUM, DESCRIPTIONS, ConsentLevel
from core.links import absolute
from core.locks import lock_name
from core.models import ComplianceSettings
from core.normalize import normalize_email
from core.security import recipient_limit_reached
from core.send_once import send_once
from subscriptions import tokens
from subscriptions.models import AccessToken, ConsentRequest, Subscription, SubscriptionList, WordingVersion

Status = Subscription.Status


@dataclass
class Meta:
    """Where a request came from: evidence for the records, never logged."""

    ip: str | None = None
    user_agent: str = ""

    def evidence(self) -> dict:
        return {"ip": self.ip, "user_agent": self.user_agent[:300]}


@dataclass
class Outcome:
    applied: list[str] = field(default_factory=list)
    request: ConsentRequest | None = None


# --- links --------------------------------------------------------------------------------------


def center_link(*, contact: Contact) -> str:
    """A personal subscription center link to put in an email."""
    _token, text = tokens.issue(
        kind=AccessToken.Kind.CENTER,
        contact=contact,
        lifetime=timedelta(days=settings.SUBSCRIPTION_CENTER_LINK_DAYS),
    )
    return absolute(reverse("subscriptions:center-entry", args=[text]))


def unsubscribe_link(*, contact: Contact, subscription_list: SubscriptionList) -> str:
    """For the List-Unsubscribe header (RFC 8058) and the footer of every list email."""
    _token, text = tokens.issue(
        kind=AccessToken.Kind.UNSUBSCRIBE,
        contact=contact,
        subscription_list=subscription_list,
        lifetime=timedelta(days=settings.UNSUBSCRIBE_LINK_DAYS),
    )
    return absolute(reverse("subscriptions:unsubscribe", args=[text]))


def list_email_headers(*, contact: Contact, subscription_list: SubscriptionList) -> dict[str, str]:
    """Headers every email sent to a list carries: one-click unsubscribe per RFC 8058 / RFC 2369."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_link(contact=contact, subscription_list=subscription_list)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{subscription_list.name} <{subscription_list.slug}.{settings.PUBLIC_BASE_URL.split('://')[-1]}>",
    }


# --- wording ------------------------------------------------------------------------------------


def wording_current() -> WordingVersion:
    """The texts the public pages show now, stored once per version (the evidence of what was agreed to)."""
    content = {
        "levels": {str(level.value): f"{level.label}: {DESCRIPTIONS[level]}" for level in ConsentLevel},
        "purposes": {p.slug: f"{p.name}: {p.description}" for p in Purpose.objects.filter(active=True)},
        "lists": {
            lst.slug: f"{lst.name}: {lst.description}" for lst in SubscriptionList.objects.filter(active=True)
        },
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return WordingVersion.objects.get_or_create(digest=digest, defaults={"content": content})[0]


# --- subscriptions ------------------------------------------------------------------------------


@transaction.atomic
def subscription_set(
    *, contact: Contact, subscription_list: SubscriptionList, status: str, source: str
) -> Subscription:
    """Set one subscription's status with history (the row lock keeps two writers in order)."""
    sub = (
        Subscription.objects.select_for_update()
        .filter(contact=contact, subscription_list=subscription_list)
        .first()
    )
    sub = sub or Subscription(contact=contact, subscription_list=subscription_list)
    if sub.pk and sub.status == status:
        return sub
    sub.status, sub.source, sub.changed_at = status, source, timezone.now()
    sub._change_reason = Source(source).label
    sub.full_clean(validate_unique=False)
    sub.save()
    return sub


def current_state(contact: Contact) -> dict:
    subscriptions = Subscription.objects.filter(
        contact=contact, status__in=[Status.SUBSCRIBED, Status.PENDING]
    ).values_list("subscription_list_id", "status")
    lists, pending = set(), set()
    for list_id, status in subscriptions:
        (lists if status == Status.SUBSCRIBED else pending).add(list_id)
    return {
        "level": contact.consent_given,
        "tracking": contact.tracking_allowed,
        "purposes": dict(
            PurposeConsent.objects.filter(contact=contact).values_list("purpose__slug", "granted")
        ),
        "lists": lists,
        "pending_lists": pending,
    }


# --- the subscription center --------------------------------------------------------------------


def preferences_update(
    *,
    contact: Contact,
    level: int,
    purposes: dict[str, bool],
    lists: set[int],
    tracking: bool,
    profile: dict,
    meta: Meta,
    gpc: bool = False,
) -> Outcome:
    """Apply narrowing choices now and turn widening ones into one double opt-in request.

    With a Global Privacy Control signal (`gpc`), tracking and profiling are refused and cannot be
    asked for in the same visit. Opt-outs reach every contact sharing the email address when the
    compliance setting says so.
    """
    outcome = Outcome()
    if gpc:
        tracking = False
        level = min(level, ConsentLevel.MARKETING)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        state = current_state(contact)
        evidence = {**meta.evidence(), "page": "subscription center", "wording": wording_current().digest}
        narrow: dict = {}
        widen: dict = {}
        if level < state["level"]:
            narrow["level"] = level
        elif level > state["level"]:
            widen["level"] = level
        for slug, granted in purposes.items():
            held = state["purposes"].get(slug)
            if granted and held is not True:
                widen.setdefault("purposes", {})[slug] = True
            elif not granted and held is not False:
                narrow.setdefault("purposes", {})[slug] = False
        if not tracking and state["tracking"]:
            narrow["tracking_allowed"] = False
        elif tracking and not state["tracking"]:
            widen["tracking"] = True
        if gpc:
            evidence["gpc"] = True
        if narrow:
            consent_change(contact=contact, source=Source.SUBSCRIPTION_CENTER, evidence=evidence, **narrow)
            outcome.applied.append(_("Your consent was narrowed as you asked."))

        # Lists: leaving is immediate; joining waits for confirmation. A lower level also ends the
        # subscriptions that need more than it allows.
        new_level = narrow.get("level", state["level"])
        public = {lst.pk: lst for lst in SubscriptionList.objects.filter(active=True)}
        for list_id in (state["lists"] | state["pending_lists"]) & set(public):
            too_low = public[list_id].min_level > new_level and "level" in narrow
            if list_id not in lists or too_low:
                subscription_set(
                    contact=contact,
                    subscription_list=public[list_id],
                    status=Status.UNSUBSCRIBED,
                    source=Source.SUBSCRIPTION_CENTER,
                )
                outcome.applied.append(_("You left “%(list)s”.") % {"list": public[list_id].name})
        left = [pk for pk in (state["lists"] | state["pending_lists"]) & set(public) if pk not in lists]
        _opt_out_siblings(contact, narrow=narrow, left=left, evidence=evidence)
        joining = sorted((set(lists) & {pk for pk, lst in public.items() if lst.public}) - state["lists"])
        if joining:
            widen["lists"] = joining

        profile = {key: value for key, value in profile.items() if getattr(contact, key) != value}
        new_email = profile.pop("email", None)
        if new_email is not None:
            new_email = normalize_email(new_email)
            if new_email != contact.email:
                widen["email"] = new_email
        if profile:
            contact_update(contact=contact, reason="subscription center", **profile)
            outcome.applied.append(_("Your details were updated."))

        if widen:
            outcome.request = consent_request_create(
                contact=contact, changes=widen, origin="center", meta=meta
            )
    return outcome


def email_level_opt_out() -> bool:
    return ComplianceSettings.switch("email_level_opt_out")


def _opt_out_siblings(contact: Contact, *, narrow: dict, left: list[int], evidence: dict) -> None:
    """With email-level opt-out on, the same opt-out stops every contact sharing the address."""
    if not (narrow or left) or not contact.email or not email_level_opt_out():
        return
    evidence = {**evidence, "email_level_opt_out": True, "opted_out_by_contact": contact.pk}
    for sibling in Contact.objects.filter(email=contact.email).exclude(pk=contact.pk).select_for_update():
        changes = {key: value for key, value in narrow.items() if key != "level"}
        if "level" in narrow and narrow["level"] < sibling.consent_given:
            changes["level"] = narrow["level"]
        if changes:
            consent_change(contact=sibling, source=Source.SUBSCRIPTION_CENTER, evidence=evidence, **changes)
        for sub in Subscription.objects.filter(contact=sibling, subscription_list_id__in=left).exclude(
            status=Status.UNSUBSCRIBED
        ):
            subscription_set(
                contact=sibling,
                subscription_list=sub.subscription_list,
                status=Status.UNSUBSCRIBED,
                source=Source.SUBSCRIPTION_CENTER,
            )


def gpc_honour(*, contact: Contact, meta: Meta) -> bool:
    """Global Privacy Control (Sec-GPC: 1) is a refusal of tracking and profiling, recorded as such."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        changes = {}
        if contact.tracking_allowed:
            changes["tracking_allowed"] = False
        if contact.consent_given > ConsentLevel.MARKETING:
            changes["level"] = ConsentLevel.MARKETING
        if not changes:
            return False
        evidence = {**meta.evidence(), "gpc": True, "page": "subscription center"}
        consent_change(contact=contact, source=Source.SUBSCRIPTION_CENTER, evidence=evidence, **changes)
        _opt_out_siblings(contact, narrow=changes, left=[], evidence=evidence)
    return True


# --- double opt-in ------------------------------------------------------------------------------


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
    full = implied_by_lists(contact, changes, changes.get("lists", []))
    if contact.is_child and full.get("level", 0) > CHILD_MAXIMUM:
        raise ValidationError(_("Profiling is not available for children."))
    unknown = set(full.get("purposes", {})) - set(
        Purpose.objects.filter(active=True).values_list("slug", flat=True)
    )
    if unknown:
        raise ValidationError(_("Unknown purpose: %(names)s.") % {"names": ", ".join(sorted(unknown))})


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
    *, contact: Contact, changes: dict, origin: str, meta: Meta, created_contact: bool = False
) -> ConsentRequest:
    """Store a widening for confirmation and queue its email (sent once the transaction commits)."""
    from subscriptions.tasks import send_consent_request_email

    _check_request(contact, changes)
    sent_to, for_child = _recipient(contact, changes)
    hours = ComplianceSettings.load().double_opt_in_expiry_hours
    nonce = secrets.token_urlsafe(32)
    token, _text = tokens.issue(
        kind=AccessToken.Kind.CONFIRM,
        contact=contact,
        lifetime=timedelta(hours=hours),
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
    transaction.on_commit(lambda: send_consent_request_email.delay(request.pk))
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


@dataclass
class Confirmation:
    status: str  # confirmed, already, expired, invalid, refused
    request: ConsentRequest | None = None
    message: str = ""


def consent_request_confirm(*, link: str, meta: Meta, lists: set[int] | None = None) -> Confirmation:
    """Apply a request once. A second click is harmless; an expired or forged link changes nothing.

    `lists` are the requested lists the person ticked (default: all); the others are declined.
    The row lock on the link makes two clicks at once apply it once (the second sees it used).
    """
    with transaction.atomic():
        try:
            token = tokens.resolve(link, kind=AccessToken.Kind.CONFIRM, for_update=True)
        except tokens.InvalidLink:
            return Confirmation("invalid")
        except tokens.ExpiredLink as expired:
            request = getattr(expired.token, "consent_request", None)
            if request is not None and request.confirmed_at:
                return Confirmation("already", request)
            return Confirmation("expired", request)
        request = token.consent_request
        if request.confirmed_at:
            return Confirmation("already", request)
        contact = token.contact
        requested = set(request.changes.get("lists", []))
        chosen = requested if lists is None else requested & set(lists)
        changes = implied_by_lists(contact, request.changes, chosen)
        now = timezone.now()
        evidence = {
            **meta.evidence(),
            "confirmation": request.pk,
            "requested_at": request.requested_at.isoformat(),
            "sent_to": request.sent_to,
            "wording": request.wording.digest,
        }
        if request.on_behalf_of_child:
            evidence.update(confirmed_by="guardian", guardian=contact.guardian_id)
        try:
            with transaction.atomic():
                if "email" in changes:
                    contact_update(
                        contact=contact, email=changes["email"], reason="confirmed by double opt-in"
                    )
                raise_level = changes.get("level", 0) > contact.consent_given
                consent_change(
                    contact=contact,
                    source=Source.DOUBLE_OPT_IN,
                    level=changes["level"] if raise_level else None,
                    purposes=changes.get("purposes") or None,
                    tracking_allowed=True if changes.get("tracking") else None,
                    evidence=evidence,
                )
                for lst in SubscriptionList.objects.filter(pk__in=requested):
                    subscription_set(
                        contact=contact,
                        subscription_list=lst,
                        status=Status.SUBSCRIBED if lst.pk in chosen else Status.UNSUBSCRIBED,
                        source=Source.DOUBLE_OPT_IN,
                    )
        except ValidationError as error:
            return Confirmation("refused", request, " ".join(error.messages))
        # Kept for the dashboard's confirmation rate, where a declined list counts as a "no".
        request.declined_lists.set(SubscriptionList.objects.filter(pk__in=requested - chosen))
        request.confirmed_at, request.confirm_ip = now, meta.ip
        request.confirm_user_agent = meta.user_agent[:300]
        request.save(update_fields=["confirmed_at", "confirm_ip", "confirm_user_agent"])
        token.used_at = now
        token.save(update_fields=["used_at"])
    return Confirmation("confirmed", request)


def consent_request_renew(
    *, link: str | None = None, request: ConsentRequest | None = None, meta: Meta
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


# --- public sign-up -----------------------------------------------------------------------------


def signup(
    *, subscription_list: SubscriptionList, email: str, first_name: str, meta: Meta
) -> ConsentRequest | None:
    """Sign-up form: find or create the contact (pending, level 0) and ask for confirmation.

    An erased person's address (suppression list) is refused: nothing is created and nothing is
    sent (None); an officer can lift the suppression if that person asks to come back. So is an
    address that got its hour's confirmation emails already. Callers answer the same in every case
    (no enumeration).
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
                email=email, first_name=first_name.strip()[:150], reason="public sign-up form"
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


# --- unsubscribe --------------------------------------------------------------------------------


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
        _opt_out_siblings(
            token.contact,
            narrow={},
            left=[token.subscription_list_id],
            evidence={"page": "one-click unsubscribe"},
        )
    return token.subscription_list


def describe(changes: dict) -> list[str]:
    """What confirming a request does, in plain words, for the email and the confirmation page."""
    lines = []
    if "level" in changes:
        level = ConsentLevel(changes["level"])
        lines.append(
            _("Consent level “%(level)s”: %(text)s") % {"level": level.label, "text": DESCRIPTIONS[level]}
        )
    names = dict(Purpose.objects.values_list("slug", "name"))
    for slug in changes.get("purposes", {}):
        lines.append(_("Yes to “%(purpose)s”") % {"purpose": names.get(slug, slug)})
    if changes.get("tracking"):
        lines.append(_("Allow us to record how you interact with our emails and pages"))
    for lst in SubscriptionList.objects.filter(pk__in=changes.get("lists", [])).select_related("purpose"):
        needs = []
        if lst.min_level > changes.get("level", 0):
            needs.append(str(ConsentLevel(lst.min_level).label))
        if lst.purpose_id and lst.purpose.slug not in changes.get("purposes", {}):
            needs.append(lst.purpose.name)
        suffix = _(" (which needs: %(needs)s)") % {"needs": ", ".join(needs)} if needs else ""
        lines.append(_("Subscribe to “%(list)s”") % {"list": lst.name} + suffix)
    if "email" in changes:
        lines.append(_("Use %(email)s as your email address") % {"email": changes["email"]})
    return lines


def expired_links_purge() -> int:
    """Delete expired center and confirmation links that no request keeps as evidence."""
    stale = AccessToken.objects.filter(expires_at__lt=timezone.now(), consent_request__isnull=True).exclude(
        kind=AccessToken.Kind.UNSUBSCRIBE  # leaving keeps working after expiry
    )
    return stale.delete()[0]


def center_invitation_send(*, contact_id: int, send) -> bool:
    """Email a contact a fresh subscription center link (e.g. when they come of age)."""
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None or not contact.email or contact.processing_restricted:
        return False  # restricted: no processing at all, not even this email (GDPR Art. 18)
    send(contact, center_link(contact=contact))
    return True
