"""The consent hierarchy, 0 to 5. A higher level includes every lower one.

The hierarchy and its rules are fixed here; the words are the organisation's (core.models.
LevelWording, per language, versioned). Every page, email, export and report that names a level
reads it through level_wording(): the organisation's text in the asked language, else its default
text when it rewrote it, else the built-in text in that language.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils.translation import get_language, override
from django.utils.translation import gettext_lazy as _


class ConsentLevel(models.IntegerChoices):
    NONE = 0, _("None")
    CONSENT = 1, _("Consent")
    TRANSACTIONAL = 2, _("Transactional")
    SUBSCRIPTIONS = 3, _("Subscriptions")
    MARKETING = 4, _("Marketing")
    PROFILING = 5, _("Profiling")


# The built-in wording (version 0), translated by the catalogue.
DESCRIPTIONS = {
    ConsentLevel.NONE: _("We keep your record but contact you about nothing and use it for nothing."),
    ConsentLevel.CONSENT: _(
        "We may keep the record of what you agreed to, and contact you about your consent."
    ),
    ConsentLevel.TRANSACTIONAL: _("We may send messages needed for things you asked for (orders, receipts)."),
    ConsentLevel.SUBSCRIPTIONS: _("We may send the newsletters and lists you subscribed to."),
    ConsentLevel.MARKETING: _("We may send you offers and campaigns."),
    ConsentLevel.PROFILING: _("We may analyse your interactions to personalise and score what we send you."),
}

# GDPR Art. 8 and Recital 71: profiling of children is not allowed, whatever anyone consents to.
CHILD_MAXIMUM = ConsentLevel.MARKETING


def includes(held: int, required: int) -> bool:
    """True when a contact holding `held` may be processed for something needing `required`."""
    return int(held) >= int(required)


@dataclass(frozen=True)
class LevelText:
    """A level's words as shown: name, description, the wording version and its language."""

    level: int
    name: str
    description: str
    version: int
    language: str

    @property
    def label(self) -> str:
        """'4 Marketing': how staff pages and exports name a level."""
        return f"{self.level} {self.name}"


# The rows of one request (or one memo() block): read once, however many rows a page shows.
_memo: ContextVar[dict | None] = ContextVar("level_wordings", default=None)


def _rows() -> dict:
    cached = _memo.get()
    if cached is not None and "rows" in cached:
        return cached["rows"]
    from core.models import LevelWording  # core.models imports this module for ConsentLevel

    rows = {row.level: row for row in LevelWording.objects.all()}
    if cached is not None:
        cached["rows"] = rows
    return rows


@contextmanager
def memo():
    """Read the wording once for everything inside (a request, an export, a task). Inside a memo
    already (a request), that one serves: the consent service's records and the API's answer
    share one read. A change of the wording forgets it either way (memo_forget)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def memo_wants_rows() -> bool:
    """Whether a memo is active that has not read the wording yet (see memo_fill)."""
    cached = _memo.get()
    return cached is not None and "rows" not in cached


def memo_fill(rows) -> None:
    """Keep wording rows read along with other reads (the consent service's first round trip)."""
    cached = _memo.get()
    if cached is not None:
        cached["rows"] = {row.level: row for row in rows}


def memo_start(**_kwargs) -> None:
    """request_started: one read of the wording per request."""
    _memo.set({})


def memo_end(**_kwargs) -> None:
    """request_finished: outside a request every read sees the database."""
    _memo.set(None)


def memo_forget(**_kwargs) -> None:
    """A wording changed: the next read in this request or block sees it."""
    if _memo.get() is not None:
        _memo.set({})


def level_wording(level: int, language: str | None = None) -> LevelText:
    """The one reader of a level's words (see the module's docstring)."""
    level = ConsentLevel(int(level))
    code = (language or get_language() or settings.LANGUAGE_CODE).split("-")[0].lower()
    default = settings.LANGUAGE_CODE.split("-")[0].lower()
    with override(code):
        builtin = (str(level.label), str(DESCRIPTIONS[level]))
    with override(default):
        builtin_default = (str(level.label), str(DESCRIPTIONS[level]))
    row = _rows().get(int(level))
    if row is None:
        return LevelText(int(level), *builtin, 0, code)
    own = ((row.translations or {}).get(code) or {}) if code != default else {}
    texts = []
    for key, stock, stock_default in zip(("name", "description"), builtin, builtin_default, strict=True):
        written = getattr(row, key)
        # The organisation's words in this language; else its default words if it rewrote them
        # (its meaning beats the stock translation); else the stock text in this language.
        texts.append(own.get(key) or (written if written != stock_default else stock))
    return LevelText(int(level), texts[0], texts[1], row.version, code)


def level_wordings_ensure() -> None:
    """A row per level holding the built-in wording (version 0), so an officer has six to edit."""
    from core.models import LevelWording

    missing = set(ConsentLevel) - set(LevelWording.objects.values_list("level", flat=True))
    default = settings.LANGUAGE_CODE
    for level in sorted(missing):
        with override(default):
            texts = {"name": str(level.label), "description": str(DESCRIPTIONS[level])}
        LevelWording.objects.get_or_create(level=int(level), defaults=texts)


def level_evidence(level: int, evidence: dict | None = None) -> dict:
    """`evidence` plus the wording version of `level` shown now: what a consent change record of a
    level keeps (GDPR Art. 7(1): the words the person agreed to)."""
    shown = level_wording(level)
    version = {"level": shown.level, "version": shown.version, "language": shown.language}
    return {**(evidence or {}), "level_wording": version}


def level_name(level: int, language: str | None = None) -> str:
    return level_wording(level, language).name


def level_label(level: int, language: str | None = None) -> str:
    """'4 Marketing'."""
    return level_wording(level, language).label


def describe(level: int, language: str | None = None) -> str:
    return level_wording(level, language).description


def level_choices(*, top: int = ConsentLevel.PROFILING, bottom: int = 0, numbered: bool = True) -> list:
    """(value, label) for form fields and filters, in the active language."""
    return [
        (level.value, level_label(level) if numbered else level_name(level))
        for level in ConsentLevel
        if bottom <= level <= top
    ]
