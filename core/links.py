"""Absolute links for emails and downloads: every link that leaves the site starts at PUBLIC_BASE_URL,
never at the Host header of whoever made the request (which an attacker can set)."""

from django.conf import settings
from django.urls import reverse

from core import tokens


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def nonce_link(viewname: str, *, kind: str, nonce: str) -> str:
    """The absolute link of a signed link rebuilt from its stored nonce and SECRET_KEY
    (core.tokens.derive): neither the broker nor the database holds a working link."""
    return absolute(reverse(viewname, args=[tokens.text_for(kind, tokens.derive(nonce))]))
