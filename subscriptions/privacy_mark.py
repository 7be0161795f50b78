"""The browser's own record of its opt-outs: a signed cookie holding, per opt-out kind, when it was
applied. Unknown visitors opt out here (no contact is created for them, CCPA regs §7025(c)(1)
asks for the browser); a known contact's opt-out is also recorded by the consent service."""

from __future__ import annotations

import json
from datetime import datetime

from django.conf import settings
from django.core import signing

from consent.opt_outs import OptOut

COOKIE = "privacy_opt_outs"
_SALT = "subscriptions.privacy_mark"
# Browsers keep a cookie at most 400 days; it is written again on every visit that changes it.
_MAX_AGE = 400 * 24 * 3600


def marks_read(request) -> dict[str, datetime]:
    """The browser's opt-outs; a tampered or malformed cookie counts as none."""
    try:
        raw = json.loads(request.get_signed_cookie(COOKIE, salt=_SALT))
        return {kind: datetime.fromisoformat(moment) for kind, moment in raw.items() if kind in OptOut.values}
    except (KeyError, signing.BadSignature, ValueError, TypeError, AttributeError):
        return {}


def marks_write(response, marks: dict[str, datetime]) -> None:
    if not marks:
        response.delete_cookie(COOKIE)
        return
    value = json.dumps({kind: moment.isoformat() for kind, moment in marks.items()})
    response.set_signed_cookie(
        COOKIE,
        value,
        salt=_SALT,
        max_age=_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
