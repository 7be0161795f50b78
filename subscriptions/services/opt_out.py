"""Email-level opt-out: one opt-out stops every contact sharing the address, when the compliance
setting says so."""

from __future__ import annotations

from consent.models import Source
from consent.services import consent_change
from contacts.models import Contact
from core.models import ComplianceSettings
from subscriptions.models import Subscription
from subscriptions.services.records import Status, subscription_set


def email_level_opt_out() -> bool:
    return ComplianceSettings.switch("email_level_opt_out")


def opt_out_siblings(contact: Contact, *, narrow: dict, left: list[int], evidence: dict) -> None:
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
