"""The subscription center's reading: what a contact holds now, and the page that shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from consent.models import Purpose, PurposeConsent
from contacts.models import Contact
from subscriptions.forms import PreferencesForm
from subscriptions.models import ConsentRequest, Subscription, SubscriptionList
from subscriptions.services.double_opt_in import describe
from subscriptions.services.opt_out import email_level_opt_out
from subscriptions.services.records import Status

if TYPE_CHECKING:
    from subscriptions.services.center import CenterOutcome


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


def email_masked(address: str) -> str:
    """j***@example.org: enough for a person to recognise their inbox, little for someone looking
    over their shoulder (the center stays open on a shared screen)."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"


@dataclass
class Waiting:
    """A raise waiting for confirmation, as the center shows it."""

    pk: int
    changes: list[str]
    sent_to: str  # masked
    requested_at: datetime
    sent_at: datetime | None  # None: the email has not left yet
    expires_at: datetime


def waiting_of(request: ConsentRequest) -> Waiting:
    return Waiting(
        pk=request.pk,
        changes=describe(request.changes),
        sent_to=email_masked(request.sent_to),
        requested_at=request.requested_at,
        sent_at=request.sent_at,
        expires_at=request.token.expires_at,
    )


def _waiting(**lookup):
    return ConsentRequest.objects.filter(
        confirmed_at__isnull=True, token__expires_at__gt=timezone.now(), **lookup
    )


def waiting_confirmations(contact: Contact) -> list[Waiting]:
    """The contact's requests that a click in their inbox (or their guardian's) can still confirm."""
    if getattr(contact, "has_waiting", True) is False:  # read with the contact (center_contact)
        return []
    requests = _waiting(contact=contact).select_related("token")
    return [waiting_of(request) for request in requests.order_by("-requested_at", "-pk")]


def center_contact(pk) -> Contact | None:
    """The contact of a center visit, with whether any request of theirs waits for confirmation
    (most visits have none: the page then needs no query for them)."""
    waiting = Exists(_waiting(contact=OuterRef("pk")))
    return Contact.objects.filter(pk=pk).annotate(has_waiting=waiting).first()


@dataclass
class CenterPage:
    """What one request to the center comes to: the form to show (bound, with its errors, after a
    refused POST), or what a POST applied (`saved`)."""

    contact: Contact
    form: PreferencesForm
    pending_lists: set[int]
    gpc: bool
    gpc_applied: bool = False
    saved: CenterOutcome | None = None
    waiting: list[Waiting] = field(default_factory=list)

    def context(self) -> dict:
        return {
            "form": self.form,
            "waiting": self.waiting,
            "contact": self.contact,
            "pending_lists": self.pending_lists,
            "gpc": self.gpc,
            "gpc_applied": self.gpc_applied,
            "email_level": email_level_opt_out(),
        }


def center_page(contact: Contact, *, gpc: bool, gpc_applied: bool = False, data=None) -> CenterPage:
    """The center's form for this contact, filled with the choices they hold now (bound to `data`)."""
    # Each offered purpose and list carries this contact's answer (a subquery): one query for what
    # the page offers and what the person holds, not one for each. Opt-out purposes (sale/sharing,
    # sensitive data) have their own page: privacy_choices.
    answer = PurposeConsent.objects.filter(contact=contact, purpose=OuterRef("pk")).values("granted")[:1]
    purposes = list(Purpose.objects.filter(active=True, opt_out="").annotate(held=Subquery(answer)))
    status = Subscription.objects.filter(
        contact=contact, subscription_list=OuterRef("pk"), status__in=[Status.SUBSCRIBED, Status.PENDING]
    ).values("status")[:1]
    lists = list(SubscriptionList.objects.filter(active=True, public=True).annotate(held=Subquery(status)))
    initial = {
        "consent_given": contact.consent_given,
        "tracking": "allow" if contact.tracking_allowed else "deny",
        "lists": [lst.pk for lst in lists if lst.held == Status.SUBSCRIBED],
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "language": contact.language,
        **{f"purpose_{p.slug}": "yes" if p.held else "no" for p in purposes if p.held is not None},
    }
    form = PreferencesForm(data or None, initial=initial, contact=contact, purposes=purposes, lists=lists)
    pending = {lst.pk for lst in lists if lst.held == Status.PENDING}
    return CenterPage(contact, form, pending, gpc, gpc_applied, waiting=waiting_confirmations(contact))
