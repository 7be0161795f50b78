"""Which language a person gets.

Pages: a page reached through a personal link that identifies a contact uses the contact's stored
language; otherwise LocaleMiddleware's answer (the switcher's cookie, then Accept-Language). The
switcher's cookie is an explicit choice in this browser, so it beats the stored language.
Emails: the person's stored language, else the language they wrote to us in, else the default.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.utils import translation


def known_language(code: str | None) -> str:
    """`code` if it is one of settings.LANGUAGES (a region falls back to its language), else ""."""
    if not code:
        return ""
    configured = {c for c, _name in settings.LANGUAGES}
    for candidate in (code, code.split("-")[0]):
        if candidate in configured:
            return candidate
    return ""


def request_language(request) -> str:
    """The language Django resolved for this request (switcher cookie or Accept-Language)."""
    return known_language(getattr(request, "LANGUAGE_CODE", "")) or settings.LANGUAGE_CODE


def person_language_activate(request, language: str | None) -> None:
    """Use a person's stored language for the rest of this request, unless this browser chose one
    with the switcher (its cookie)."""
    language = known_language(language)
    if not language or known_language(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)):
        return
    translation.activate(language)
    request.LANGUAGE_CODE = language


def browser_language_activate(request) -> None:
    """Back to what the browser asks (switcher cookie, then Accept-Language), e.g. once a person
    cleared their stored language."""
    language = translation.get_language_from_request(request)
    translation.activate(language)
    request.LANGUAGE_CODE = translation.get_language()


def mail_language(*candidates: str | None) -> str:
    """The first known language of `candidates` (stored, then submitted), else the default."""
    for code in candidates:
        if known := known_language(code):
            return known
    return settings.LANGUAGE_CODE


@contextmanager
def in_language(*candidates: str | None):
    """Render (subject included) in the person's language: see mail_language."""
    with translation.override(mail_language(*candidates)):
        yield
