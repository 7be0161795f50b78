"""Links and headers put into list emails: personal center and unsubscribe links, list headers
(absolute links themselves are core.links')."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.urls import reverse

from contacts.models import Contact
from core.links import absolute
from subscriptions import tokens
from subscriptions.models import AccessToken, SubscriptionList


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
