"""Subscriptions, the subscription center's changes and double opt-in.

Rule: what narrows processing (lower level, "no", unsubscribe, refusing tracking) applies at once;
what widens it (higher level, new "yes", new subscription, allowing tracking, a new email address)
waits in a ConsentRequest until the contact confirms it from their inbox. Consent itself is
written only by consent.services.consent_change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.levels import CHILD_MAXIMUM, DESCRIPTIONS, ConsentLevel
from consent.models import ComplianceSettings, Purpose, PurposeConsent, Source
from consent.services import consent_change
from contacts.models import Contact
from contacts.normalize import normalize_email
from contacts.services import contact_create, contact_update
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
    link: str = ""


# --- links --------------------------------------------------------------------------------------


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


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


def subscription_set(
    *, contact: Contact, subscription_list: SubscriptionList, status: str, source: str
) -> Subscription:
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
    return {
        "level": contact.consent_given,
        "tracking": contact.tracking_allowed,
        "purposes": dict(
            PurposeConsent.objects.filter(contact=contact).values_list("purpose__slug", "granted")
        ),
        "lists": set(
            Subscription.objects.filter(contact=contact, status=Status.SUBSCRIBED).values_list(
                "subscription_list_id", flat=True
            )
        ),
        "pending_lists": set(
            Subscription.objects.filter(contact=contact, status=Status.PENDING).values_list(
                "subscription_list_id", flat=True
            )
        ),
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
) -> Outcome:
    """Apply narrowing choices now and turn widening ones into one double opt-in request."""
    outcome = Outcome()
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
            outcome.request, outcome.link = consent_request_create(
                contact=contact, changes=widen, origin="center", meta=meta
            )
    return outcome


# --- double opt-in ------------------------------------------------------------------------------


def _complete(contact: Contact, changes: dict) -> dict:
    """Add what joining a list implies (its minimum level, its purpose) and check it is allowed."""
    changes = json.loads(json.dumps(changes))
    lists = SubscriptionList.objects.filter(pk__in=changes.get("lists", []), active=True).select_related(
        "purpose"
    )
    for lst in lists:
        if lst.min_level > max(changes.get("level", 0), contact.consent_given):
            changes["level"] = int(lst.min_level)
        if lst.purpose_id:
            changes.setdefault("purposes", {})[lst.purpose.slug] = True
    if contact.is_child and changes.get("level", 0) > CHILD_MAXIMUM:
        raise ValidationError(_("Profiling is not available for children."))
    unknown = set(changes.get("purposes", {})) - set(
        Purpose.objects.filter(active=True).values_list("slug", flat=True)
    )
    if unknown:
        raise ValidationError(_("Unknown purpose: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    return changes


def consent_request_create(
    *, contact: Contact, changes: dict, origin: str, meta: Meta, created_contact: bool = False
) -> tuple[ConsentRequest, str]:
    """Store a widening for confirmation and return it with its confirmation link (to email once)."""
    changes = _complete(contact, changes)
    hours = ComplianceSettings.load().double_opt_in_expiry_hours
    token, text = tokens.issue(
        kind=AccessToken.Kind.CONFIRM, contact=contact, lifetime=timedelta(hours=hours)
    )
    request = ConsentRequest.objects.create(
        contact=contact,
        token=token,
        changes=changes,
        wording=wording_current(),
        origin=origin,
        created_contact=created_contact,
        request_ip=meta.ip,
        request_user_agent=meta.user_agent[:300],
        sent_to=changes.get("email") or contact.email,
    )
    for list_id in changes.get("lists", []):
        lst = SubscriptionList.objects.get(pk=list_id)
        current = Subscription.objects.filter(contact=contact, subscription_list=lst).first()
        if current is None or current.status != Status.SUBSCRIBED:
            subscription_set(
                contact=contact,
                subscription_list=lst,
                status=Status.PENDING,
                source=Source.SUBSCRIPTION_CENTER if origin == "center" else Source.DOUBLE_OPT_IN,
            )
    return request, absolute(reverse("subscriptions:confirm", args=[text]))


@dataclass
class Confirmation:
    status: str  # confirmed, already, expired, invalid, refused
    request: ConsentRequest | None = None
    message: str = ""


def consent_request_confirm(*, link: str, meta: Meta) -> Confirmation:
    """Apply a request once. A second click is harmless; an expired or forged link changes nothing.

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
        changes, contact = request.changes, token.contact
        now = timezone.now()
        evidence = {
            **meta.evidence(),
            "confirmation": request.pk,
            "requested_at": request.requested_at.isoformat(),
            "sent_to": request.sent_to,
            "wording": request.wording.digest,
        }
        try:
            with transaction.atomic():
                if "email" in changes:
                    contact_update(
                        contact=contact, email=changes["email"], reason="confirmed by double opt-in"
                    )
                consent_change(
                    contact=contact,
                    source=Source.DOUBLE_OPT_IN,
                    level=changes.get("level") if changes.get("level", 0) > contact.consent_given else None,
                    purposes=changes.get("purposes") or None,
                    tracking_allowed=True if changes.get("tracking") else None,
                    evidence=evidence,
                )
                for lst in SubscriptionList.objects.filter(pk__in=changes.get("lists", [])):
                    subscription_set(
                        contact=contact,
                        subscription_list=lst,
                        status=Status.SUBSCRIBED,
                        source=Source.DOUBLE_OPT_IN,
                    )
        except ValidationError as error:
            return Confirmation("refused", request, " ".join(error.messages))
        request.confirmed_at, request.confirm_ip = now, meta.ip
        request.confirm_user_agent = meta.user_agent[:300]
        request.save(update_fields=["confirmed_at", "confirm_ip", "confirm_user_agent"])
        token.used_at = now
        token.save(update_fields=["used_at"])
    return Confirmation("confirmed", request)


def consent_request_renew(*, link: str, meta: Meta) -> tuple[ConsentRequest, str] | None:
    """A fresh link for an expired, unconfirmed request (the same changes). None if not allowed."""
    with transaction.atomic():
        try:
            tokens.resolve(link, kind=AccessToken.Kind.CONFIRM)
            return None  # still valid: nothing to renew
        except tokens.InvalidLink:
            return None
        except tokens.ExpiredLink as expired:
            old = getattr(expired.token, "consent_request", None)
        if old is None or old.confirmed_at:
            return None
        recent = ConsentRequest.objects.filter(
            contact=old.contact, requested_at__gte=timezone.now() - timedelta(hours=1)
        ).count()
        if recent >= 3:  # no mail bombing through an old link
            return None
        return consent_request_create(contact=old.contact, changes=old.changes, origin=old.origin, meta=meta)


# --- public sign-up -----------------------------------------------------------------------------


def signup(
    *, subscription_list: SubscriptionList, email: str, first_name: str, meta: Meta
) -> tuple[ConsentRequest, str]:
    """Sign-up form: find or create the contact (pending, level 0) and ask for confirmation.

    Callers answer the same whether or not the address was known (no enumeration).
    """
    email = normalize_email(email)
    with transaction.atomic():
        contact = Contact.objects.filter(email=email).order_by("id").first()
        created = contact is None
        if created:
            contact = contact_create(
                email=email, first_name=first_name.strip()[:150], reason="public sign-up form"
            )
        return consent_request_create(
            contact=contact,
            changes={"lists": [subscription_list.pk]},
            origin="signup",
            meta=meta,
            created_contact=created,
        )


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
    for lst in SubscriptionList.objects.filter(pk__in=changes.get("lists", [])):
        lines.append(_("Subscribe to “%(list)s”") % {"list": lst.name})
    if "email" in changes:
        lines.append(_("Use %(email)s as your email address") % {"email": changes["email"]})
    return lines


def expired_links_purge() -> int:
    """Delete expired center and confirmation links that no request keeps as evidence."""
    stale = AccessToken.objects.filter(expires_at__lt=timezone.now(), consent_request__isnull=True).exclude(
        kind=AccessToken.Kind.UNSUBSCRIBE  # leaving keeps working after expiry
    )
    return stale.delete()[0]
