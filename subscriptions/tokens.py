"""Links for people without an account: random, signed, stored only as a digest, expiring.

A link reads /<kind>/<random>:<signature>/. The signature (keyed by SECRET_KEY, salted per kind)
turns away tampered or made-up links before any database lookup; the random part is looked up
by its SHA-256, so a stolen database yields no working link. Nothing in it names the contact.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone

from subscriptions.models import AccessToken


class InvalidLink(Exception):
    """Tampered, unknown or of the wrong kind."""


class ExpiredLink(Exception):
    def __init__(self, token: AccessToken):
        super().__init__("expired")
        self.token = token


def _signer(kind: str) -> signing.Signer:
    return signing.Signer(salt=f"subscriptions.link.{kind}")


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def unsign(text: str, *, kind: str) -> str:
    """The random part of a link, or InvalidLink if the signature does not fit this kind."""
    try:
        return _signer(kind).unsign(text)
    except signing.BadSignature:
        raise InvalidLink from None


def derive(nonce: str) -> str:
    """The random part of a link rebuilt from a stored nonce: needs SECRET_KEY as well as the database."""
    mac = hmac.new(settings.SECRET_KEY.encode(), f"link:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")


def text_for(kind: str, raw: str) -> str:
    return _signer(kind).sign(raw)


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
