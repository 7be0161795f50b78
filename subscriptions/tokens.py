"""Subscription links (center, confirmation, unsubscribe): the signed links of core.tokens whose
secret is kept as a digest in AccessToken, expiring, looked up without naming the contact."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.utils import timezone

# The signing half lives in core.tokens (shared with data request links); named here too so the
# subscription code reads tokens.InvalidLink next to tokens.resolve.
from core.tokens import InvalidLink, derive, digest, text_for, unsign  # noqa: F401
from subscriptions.models import AccessToken


class ExpiredLink(Exception):
    def __init__(self, token: AccessToken):
        super().__init__("expired")
        self.token = token


def issue(
    *, kind: str, contact, lifetime: timedelta, subscription_list=None, raw: str | None = None
) -> tuple[AccessToken, str]:
    """Create a link secret; returns the stored token and the text to put in the URL."""
    raw = raw or secrets.token_urlsafe(24)
    token = AccessToken.objects.create(
        kind=kind,
        digest=digest(raw),
        contact=contact,
        subscription_list=subscription_list,
        expires_at=timezone.now() + lifetime,
    )
    return token, text_for(kind, raw)


def resolve(text: str, *, kind: str, for_update: bool = False) -> AccessToken:
    """The token behind a link, or InvalidLink / ExpiredLink. Does not mark it used."""
    raw = unsign(text, kind=kind)
    tokens = AccessToken.objects.select_related("contact", "subscription_list")
    if for_update:
        tokens = tokens.select_for_update(of=("self",))
    token = tokens.filter(kind=kind, digest=digest(raw)).first()
    if token is None:
        raise InvalidLink
    if token.expired:
        raise ExpiredLink(token)
    return token
