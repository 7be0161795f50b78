"""Absolute links for emails and downloads: every link that leaves the site starts at PUBLIC_BASE_URL,
never at the Host header of whoever made the request (which an attacker can set)."""

from django.conf import settings


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"
