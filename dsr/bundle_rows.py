"""The rows of an export bundle in words (GDPR Art. 12(1), 15): what the person reads without a
database manual, while every raw value stays for the machine-readable copy (Art. 20).

Each column keeps its raw value under the field's own key (`purpose_id`, `source`); beside it the
same thing in words: a link to a purpose or a list by its name (`purpose`), a choice by its label
(`source_name`: "Import", `consent_given_name`: "Subscriptions"). Times are in the person's time
zone. Every key gets a heading in words for the CSV and the workbook.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from core import registry
from core.levels import ConsentLevel, level_name

# Secrets and machinery, not data about the person: never exported.
NOT_EXPORTED = {
    "digest",
    "nonce",
    "personal_digest",
    "subject_tag",
    "prev_hash",
    "chain_hash",
    "send_claimed_at",
    "link_nonce",
}
WORDS = "_name"  # the suffix of a choice's label beside its code


def person_zone(contacts) -> dt.tzinfo:
    """The person's own time zone where one is stored, otherwise the organisation's (TIME_ZONE)."""
    for contact in contacts:
        name = getattr(contact, "time_zone", "") or ""
        if name:
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return _default_zone()


def _default_zone() -> dt.tzinfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def plain(value, zone: dt.tzinfo):
    """A JSON value; an aware time is given in the person's zone (ISO 8601 with its offset)."""
    if isinstance(value, dt.datetime):
        return (timezone.localtime(value, zone) if timezone.is_aware(value) else value).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v, zone) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, zone) for v in value]
    return value


def _named_link(field: models.Field) -> bool:
    """A link shown by the name of what it points at: never a person (the contact, a guardian)
    nor a staff account, whose names are not the person's data (staff are pseudonymised)."""
    if not field.many_to_one and not field.one_to_one:
        return False
    target = field.related_model
    return target is not get_user_model() and target._meta.label_lower != "contacts.contact"


def default_rows(entry: registry.PersonalData, ids: list[int], zone: dt.tzinfo) -> list[dict]:
    """Every column but secrets, each coded value with its words beside it."""
    fields = [f for f in entry.model._meta.concrete_fields if f.name not in NOT_EXPORTED]
    links = [f.name for f in fields if _named_link(f)]
    rows = entry.rows_for_ids(ids).select_related(*links).order_by("pk")
    out = []
    for row in rows.iterator(chunk_size=500):
        item = {}
        for field in fields:
            item[field.attname] = plain(getattr(row, field.attname), zone)
            if field.name in links:
                target = getattr(row, field.name)
                item[field.name] = str(target) if target is not None else None
            elif field.choices:
                item[field.name + WORDS] = _label(field, getattr(row, field.attname))
        out.append(item)
    return out


def _label(field: models.Field, value) -> str | None:
    if value is None or value == "":
        return None
    if value in ConsentLevel.values and [v for v, _label in field.flatchoices] == ConsentLevel.values:
        return level_name(value)  # the organisation's words for the level (core.levels)
    return str(dict(field.flatchoices).get(value, value))


def export_rows(entry: registry.PersonalData, rows: list[dict], zone: dt.tzinfo) -> list[dict]:
    """An app's own export (registry `export`), its times put in the person's zone."""
    return [{key: plain(value, zone) for key, value in row.items()} for row in rows]


def headings(model: type[models.Model], rows: list[dict]) -> dict[str, str]:
    """A heading in words for every key of these rows, from the model's field names."""
    by_key: dict[str, str] = {}
    fields = {f.attname: f for f in model._meta.concrete_fields}
    named = {f.name: f for f in model._meta.concrete_fields}
    for row in rows:
        for key in row:
            if key not in by_key:
                by_key[key] = _heading(key, fields, named)
    return by_key


def _heading(key: str, fields: dict, named: dict) -> str:
    if key == "id":
        return _("Record number")
    field = fields.get(key)
    if field is not None and field.is_relation:
        return _("%(name)s (number)") % {"name": _word(field.verbose_name)}
    if field is not None and field.choices:
        return _("%(name)s (code)") % {"name": _word(field.verbose_name)}
    if field is not None or key in named:
        return _word((field or named[key]).verbose_name)
    base = named.get(key[: -len(WORDS)]) if key.endswith(WORDS) else None
    if base is not None and base.choices:
        return _word(base.verbose_name)
    if base is not None:
        return _("%(name)s (in words)") % {"name": _word(base.verbose_name)}
    return _word(key.replace("_", " "))


def _word(text) -> str:
    text = str(text)
    return text[:1].upper() + text[1:]
