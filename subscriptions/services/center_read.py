"""The subscription center's reading: what a contact holds now, and the page that shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from consent.models import Purpose, PurposeConsent
from contacts.models import Contact
from subscriptions.forms import PreferencesForm
from subscriptions.models import Subscription, SubscriptionList
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

    def context(self) -> dict:
        return {
            "form": self.form,
            "contact": self.contact,
            "pending_lists": self.pending_lists,
            "gpc": self.gpc,
            "gpc_applied": self.gpc_applied,
            "email_level": email_level_opt_out(),
        }


def center_page(contact: Contact, *, gpc: bool, gpc_applied: bool = False, data=None) -> CenterPage:
    """The center's form for this contact, filled with the choices they hold now (bound to `data`)."""
    state = current_state(contact)
    initial = {
        "consent_given": contact.consent_given,
        "tracking": "allow" if contact.tracking_allowed else "deny",
        "lists": sorted(state["lists"]),
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        **{f"purpose_{slug}": "yes" if granted else "no" for slug, granted in state["purposes"].items()},
    }
    form = PreferencesForm(
        data or None,
        initial=initial,
        contact=contact,
        purposes=Purpose.objects.filter(active=True),
        lists=SubscriptionList.objects.filter(active=True, public=True),
    )
    return CenterPage(contact, form, state["pending_lists"], gpc, gpc_applied)
