"""Signed links for people without an account: random, signed, stored only as a digest.

A link reads /<kind>/<random>:<signature>/. The signature (keyed by SECRET_KEY, salted per kind)
turns away tampered or made-up links before any database lookup; the random part is looked up
by its SHA-256, so a stolen database yields no working link. Nothing in it names the contact.
Where the digest is kept is the caller's: subscription links in subscriptions.AccessToken, data
request and export links on their own rows (dsr).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings
from django.core import signing


class InvalidLink(Exception):
    """Tampered, unknown or of the wrong kind."""


def _signer(kind: str) -> signing.Signer:
    # The salt keeps the name it had when this lived in subscriptions: links already sent still open.
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


def row_for_link(rows, link: str, *, kind: str, for_update: bool = False):
    """The row of `rows` whose `digest` is this signed link's, or None when the link is tampered,
    of another kind or unknown. `for_update` locks the row alone (not the rows it joins)."""
    try:
        raw = unsign(link, kind=kind)
    except InvalidLink:
        return None
    if for_update:
        rows = rows.select_for_update(of=("self",))
    return rows.filter(digest=digest(raw)).first()
