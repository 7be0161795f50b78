"""The residue scan: after an erasure, look through every table, history tables included, for
the erased person's email address, phone number or name, and say where any is left.

An independent check of the erasure (GDPR Art. 5(2), accountability): it does not trust the
registry, it reads every text column of every model Django knows, so a forgotten copy shows up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.db.models import Count, Q
from django.db.models.functions import Cast

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)
MIN_NAME_PART = 2  # a one-letter "name" would match half the database


@dataclass
class Identity:
    """What to look for. Held in memory only, for the length of one erasure."""

    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    username: str = ""  # for staff accounts


@dataclass
class ResidueReport:
    tables_scanned: int = 0
    hits: list[dict] = field(default_factory=list)  # {"table", "column" or "columns", "rows"}

    @property
    def clean(self) -> bool:
        return not self.hits

    def as_json(self) -> dict:
        return {"tables_scanned": self.tables_scanned, "hits": self.hits}


def _variants(value: str) -> set[str]:
    # JSON columns may store non-ASCII text escaped (\u00fc), so look for that spelling too.
    return {value, json.dumps(value)[1:-1]}


def _text_columns(model) -> list[str]:
    return [
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, TEXT_FIELDS) and not f.choices and not f.primary_key
    ]


def _contains(column: str, values: set[str]) -> Q:
    q = Q()
    for value in values:
        q |= Q(**{f"_scan_{column}__icontains": value})
    return q


def residue_scan(identities: list[Identity]) -> ResidueReport:
    """Count, per table and column, the rows still holding any of these identities.

    A name counts only when its first and last part appear in one row (any columns), so another
    "Anna" is not reported; email addresses and phone numbers count wherever they appear.
    """
    report = ResidueReport()
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        columns = _text_columns(model)
        if not columns:
            continue
        report.tables_scanned += 1
        rows = model._default_manager.annotate(**{f"_scan_{c}": Cast(c, models.TextField()) for c in columns})
        # One pass over the table: a filtered count per (identity, what, column).
        counts, meaning = {}, {}
        for identity in identities:
            for label, value in (
                ("email", identity.email),
                ("phone", identity.phone),
                ("username", identity.username),
            ):
                if value:
                    for column in columns:
                        key = f"c{len(counts)}"
                        counts[key] = Count("pk", filter=_contains(column, _variants(value)))
                        meaning[key] = (label, column)
            first, last = identity.first_name.strip(), identity.last_name.strip()
            if len(first) >= MIN_NAME_PART and len(last) >= MIN_NAME_PART:
                has_first, has_last = Q(), Q()
                for column in columns:
                    has_first |= _contains(column, _variants(first))
                    has_last |= _contains(column, _variants(last))
                key = f"c{len(counts)}"
                counts[key] = Count("pk", filter=has_first & has_last)
                meaning[key] = ("name", ", ".join(columns))
        if not counts:
            continue
        for key, found in rows.aggregate(**counts).items():
            if found:
                label, column = meaning[key]
                report.hits.append(
                    {"table": model._meta.db_table, "column": column, "found": label, "rows": found}
                )
    return report
