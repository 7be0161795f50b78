"""Email templates hold plain text and the placeholders the product offers, nothing more.

Officers write these texts, so they are not Django templates: a Django template can load tag
libraries ({% load %}), print the whole context and the loaded modules ({% debug %}), include any
template on the server or loop over querysets. Only {{ first_name }}, {{ last_name }}, the
email's way out, {{ unsubscribe_url }} and {{ preferences_url }}, and {{ renew_url }} (links the
product makes, never text anybody typed), are filled in; any other template syntax is refused when saving, with the
offered list.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PLACEHOLDERS = ("first_name", "last_name", "unsubscribe_url", "preferences_url", "renew_url")
# The re-permission link (journeys.repermission): a double opt-in confirmation of the person's
# consents that lapse soon, made per email.
RENEW = "renew_url"
# The links every marketing email must show: where a template does not place one, a footer does.
WAY_OUT = ("unsubscribe_url", "preferences_url")
_PLACEHOLDER = re.compile(r"\{\{\s*(" + "|".join(PLACEHOLDERS) + r")\s*\}\}")
# Whatever starts or ends template syntax: variables, tags, comments.
_SYNTAX = re.compile(r"\{\{|\{%|\{#|\}\}|%\}|#\}")


def offered() -> str:
    return ", ".join("{{ " + name + " }}" for name in PLACEHOLDERS)


def check(text: str) -> None:
    """Raise ValidationError naming the first piece of template syntax that is not an offered
    placeholder."""
    rest = _PLACEHOLDER.sub("", text)
    found = _SYNTAX.search(rest)
    if found:
        start = max(found.start() - 10, 0)
        snippet = " ".join(rest[start : found.end() + 30].split())
        raise ValidationError(
            _("Only these placeholders can be used: %(offered)s. This is not one: “%(snippet)s”.")
            % {"offered": offered(), "snippet": snippet},
            code="placeholder",
        )


def fill(text: str, values: dict[str, str]) -> str:
    """The text with each offered placeholder replaced; nothing else is interpreted."""
    return _PLACEHOLDER.sub(lambda match: str(values.get(match.group(1)) or ""), text)


def placed(text: str) -> set[str]:
    """The offered placeholders `text` uses."""
    return {match.group(1) for match in _PLACEHOLDER.finditer(text)}
