"""Links and headers put into marketing emails: personal center, unsubscribe and stop-all links, list headers
(absolute links themselves are core.links')."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.urls import reverse

from contacts.models import Contact
from core.links import absolute
from subscriptions import tokens
from subscriptions.models import AccessToken, SubscriptionList


def _personal_link(kind: str, route: str, *, contact: Contact, days: int, subscription_list=None) -> str:
    """A signed, expiring link for one contact (its secret kept as a digest in AccessToken)."""
    _token, text = tokens.issue(
        kind=kind, contact=contact, subscription_list=subscription_list, lifetime=timedelta(days=days)
    )
    return absolute(reverse(route, args=[text]))


def center_link(*, contact: Contact) -> str:
    """A personal subscription center link to put in an email."""
    days = settings.SUBSCRIPTION_CENTER_LINK_DAYS
    return _personal_link(AccessToken.Kind.CENTER, "subscriptions:center-entry", contact=contact, days=days)


def unsubscribe_link(*, contact: Contact, subscription_list: SubscriptionList) -> str:
    """For the List-Unsubscribe header (RFC 8058) and the footer of every list email."""
    return _personal_link(
        AccessToken.Kind.UNSUBSCRIBE,
        "subscriptions:unsubscribe",
        contact=contact,
        days=settings.UNSUBSCRIBE_LINK_DAYS,
        subscription_list=subscription_list,
    )


def leave_link(*, contact: Contact) -> str:
    """A personal "stop all marketing" link, for mail of a journey that belongs to no list."""
    days = settings.UNSUBSCRIBE_LINK_DAYS
    return _personal_link(AccessToken.Kind.LEAVE, "subscriptions:leave", contact=contact, days=days)


def list_email_headers(
    *, contact: Contact, subscription_list: SubscriptionList, unsubscribe_url: str = ""
) -> dict[str, str]:
    """Headers every email sent to a list carries: one-click unsubscribe per RFC 8058 / RFC 2369
    (`unsubscribe_url`: the link the email's body shows, so one link serves both)."""
    unsubscribe_url = unsubscribe_url or unsubscribe_link(
        contact=contact, subscription_list=subscription_list
    )
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{subscription_list.name} <{subscription_list.slug}.{settings.PUBLIC_BASE_URL.split('://')[-1]}>",
    }
