"""Reading one row of an export: its cells as a Row with a key, an identifier, an option and a value.

Nothing here touches the database but the Contact field lengths: a row is parsed or refused with
RowRefused and a reason a privacy officer understands. Applying rows is imports.services.chunks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Purpose
from contacts.models import Contact
from core.ids import parse_id
from core.levels import ConsentLevel
from core.normalize import normalize_email, normalize_phone
from core.safe_json import text_problem
from imports.models import ImportSource
from imports.readers import FileRefused

TRUE_WORDS = {"true", "yes", "y", "1", "ja", "j", "wahr", "granted", "opt-in", "x"}
FALSE_WORDS = {"false", "no", "n", "0", "nein", "falsch", "denied", "opt-out"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class RowRefused(Exception):
    pass


def parse_value(raw: str) -> bool:
    word = raw.strip().lower()
    if not word:
        raise RowRefused(_("The consent value is missing."))
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise RowRefused(
        _("“%(value)s” is not a consent value (use true/false, yes/no, 1/0).") % {"value": raw[:50]}
    )


def parse_date(raw: str) -> dt.datetime:
    """ISO 8601 (2026-03-01, with or without a time) or dd.mm.yyyy; d/m/yyyy only when unambiguous."""
    text = raw.strip()
    if not text:
        raise RowRefused(_("The date is missing."))
    day = None
    try:
        if _ISO_DATE.match(text):
            day = dt.date.fromisoformat(text)
        elif match := _DOTTED.match(text):
            day = dt.date(int(match[3]), int(match[2]), int(match[1]))
        elif match := _SLASHED.match(text):
            first, second, year = int(match[1]), int(match[2]), int(match[3])
            if first <= 12 and second <= 12 and first != second:
                raise RowRefused(
                    _("The date “%(value)s” is ambiguous (day/month or month/day?); write it as 2026-03-01.")
                    % {"value": text}
                )
            # 25/03/2026 can only be day/month, 03/25/2026 only month/day.
            day = dt.date(year, second, first) if first >= second else dt.date(year, first, second)
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            return moment
    except ValueError:
        raise RowRefused(
            _("“%(value)s” is not a date (use 2026-03-01 or 01.03.2026).") % {"value": text[:50]}
        ) from None
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def parse_level(raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if (level := parse_id(text, max_digits=1)) is not None and level in ConsentLevel.values:
        return level
    raise RowRefused(_("“%(value)s” is not a consent level (0–5).") % {"value": text[:50]})


@dataclass
class Row:
    number: int
    key: str
    kind: str  # "email" or "phone"
    ident: str
    option: str
    granted: bool
    effective_at: dt.datetime
    level: int | None
    purpose: Purpose | None = None
    last_action_at: dt.datetime | None = None  # the person's last action in the source
    evidence: dict | None = None  # what a consent receipt attests (imports.receipt_reader)

    def digest(self) -> str:
        facts = [
            self.kind,
            self.ident,
            self.purpose.pk,
            self.granted,
            self.effective_at.isoformat(),
            self.level,
        ]
        if self.last_action_at is not None:  # only then: earlier rows keep their digests
            facts.append(self.last_action_at.isoformat())
        return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


def _parse_row(number: int, cells: list[str], index: dict[str, int], now: dt.datetime) -> Row:
    def cell(role: str) -> str:
        position = index.get(role)
        return cells[position].strip() if position is not None and position < len(cells) else ""

    for position, text in enumerate(cells, start=1):
        # No database stores a NUL (PostgreSQL refused the whole chunk with a DataError).
        if problem := text_problem(text):
            raise RowRefused(_("Column %(column)s: %(problem)s") % {"column": position, "problem": problem})
    if refused := cell("refused"):  # a reader that knows the row cannot be imported says why
        raise RowRefused(refused)
    key = cell("key")
    if not key:
        raise RowRefused(_("The row has no primary key."))
    if len(key) > 200:
        raise RowRefused(_("The primary key is longer than 200 characters."))
    kind, ident = _identifier(cell("email"), cell("phone"))
    option = cell("option")
    if not option:
        raise RowRefused(_("The consent option is missing."))
    granted = parse_value(cell("value"))
    effective_at = parse_date(cell("date")) if "date" in index else now
    if effective_at > now:
        raise RowRefused(_("The date lies in the future."))
    level = parse_level(cell("level")) if "level" in index else None
    row = Row(number, key, kind, ident, option, granted, effective_at, level)
    if cell("evidence"):
        row.evidence = json.loads(cell("evidence"))
    if cell("last_action"):  # empty: the source knows of no action
        row.last_action_at = parse_date(cell("last_action"))
        if row.last_action_at > now:
            raise RowRefused(_("The date of the last action lies in the future."))
    return row


def _identifier(email: str, phone: str) -> tuple[str, str]:
    """The row's normalised email address, or its phone number where it has none, with its kind."""
    kind, ident = "", ""
    # The reasons never repeat an address or a number: the report is read by more people than the file.
    if email:
        try:
            kind, ident = "email", normalize_email(email)
        except ValidationError:
            raise RowRefused(_("The email address is not valid.")) from None
    elif phone:
        try:
            kind, ident = "phone", normalize_phone(phone)
        except ValidationError:
            raise RowRefused(_("The phone number is not valid.")) from None
    if not ident:
        raise RowRefused(_("The row has neither an email address nor a phone number."))
    if len(ident) > Contact._meta.get_field(kind).max_length:
        raise RowRefused(
            _("The email address is too long.") if kind == "email" else _("The phone number is too long.")
        )
    return kind, ident


def _column_index(header: list[str], source: ImportSource) -> dict[str, int]:
    positions = {}
    lowered = [h.strip().lower() for h in header]
    for role, column in source.columns.items():
        try:
            positions[role] = lowered.index(column.lower())
        except ValueError:
            raise FileRefused(
                _("The column “%(column)s” is missing; the file has: %(found)s.")
                % {"column": column, "found": ", ".join(h for h in header if h)[:500]}
            ) from None
    return positions
