"""The consent rules, checked in one place with one set of messages.

Every door that sets consent asks this module whether the wanted values may apply: the one write
path (consent.services), the bulk creation of contacts with consent, the subscription center and
sign-up before they ask for double opt-in, and the import before it creates anyone. Checks of
input shape (a level that is no level, an answer that is not yes or no, a justification) stay
with the door that reads the input.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from consent.models import Purpose, Source
from core.levels import CHILD_MAXIMUM, ConsentLevel

# A raise from these sources is only a request: it takes effect through double opt-in.
NO_DIRECT_RAISE = {Source.SUBSCRIPTION_CENTER, Source.JOURNEY}


def consent_refusal(
    *,
    source: str | None = None,
    is_child: bool = False,
    level: int | None = None,
    level_before: int = ConsentLevel.NONE,
    tracking_allowed: bool | None = None,
    purposes: Mapping[Purpose | str, bool] | None = None,
) -> ValidationError | None:
    """The first rule a wanted change of consent breaks, as the refusal to show; None if it may apply.

    Give what the change sets: the level (and the level it replaces), the tracking choice and the
    purpose answers, a purpose given by name (str) being one that no Purpose carries. The rules:
    the source is one of Source (GDPR Art. 7(1): every record says where consent came from); the
    purposes exist; a child is never given Profiling (GDPR Art. 8, Recital 71); the subscription
    center and journeys may only narrow, a raise waits for double opt-in (Art. 7(1), proof of
    consent); a retired purpose is never granted.
    """
    purposes = purposes or {}
    if source is not None and source not in Source.values:
        return ValidationError(_("Unknown consent source “%(source)s”."), params={"source": source})
    unknown = sorted(key for key in purposes if isinstance(key, str))
    if unknown:
        return ValidationError(_("Unknown purpose: %(names)s.") % {"names": ", ".join(unknown)})
    if is_child and level is not None and level > CHILD_MAXIMUM:
        return ValidationError(
            {"consent_given": _("A child can never be given Profiling consent (GDPR Art. 8).")}
        )
    widens = (
        (level is not None and level > level_before) or tracking_allowed is True or any(purposes.values())
    )
    if widens and source in NO_DIRECT_RAISE:
        return ValidationError(
            _("A raise of consent from the %(source)s takes effect only through double opt-in.")
            % {"source": Source(source).label}
        )
    for purpose, granted in purposes.items():
        if granted is True and not purpose.active:
            return ValidationError(_("The purpose “%(purpose)s” is retired.") % {"purpose": purpose})
    return None


def consent_check(**facts) -> None:
    """Raise consent_refusal's refusal, if any (same keyword arguments)."""
    if (refusal := consent_refusal(**facts)) is not None:
        raise refusal
