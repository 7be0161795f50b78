"""History on the records that govern processing, and the one way every history page reads it.

Records are audited by simple-history through `AuditedHistory(family)`: the compliance settings
say which families are audited (all by default); the settings' own history is always on, so
switching a family off is itself on record. Secrets never reach a history table: a model names
them in `excluded_fields` (an API key's hash), and history pages and exports show only the
columns the history table holds.

`history_rows` turns history records into one row per changed field (who, when, from, to, why),
for the contact's page and for every audited record's page alike (core.history_admin).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.bulk import history_insert, tracked_values

# Each family is switched by the compliance setting audit_<family> (core.models), all on by
# default. The settings' own history is not a family: it is always written.
AUDIT_FAMILIES = (
    "import_sources",
    "email_templates",
    "journeys",
    "segments",
    "scoring",
    "api_keys",
    "suppression",
    "purposes_lists",
    "breaches",
)

SKIPPED_FIELDS = frozenset({"id", "created_at", "updated_at"})


def audit_setting(family: str) -> str:
    """The name of the compliance settings field that switches this family's history."""
    return f"audit_{family}"


def family_audited(family: str) -> bool:
    from core.models import ComplianceSettings  # core.models is history-tracked itself

    return ComplianceSettings.switch(audit_setting(family))


class AuditedHistory(HistoricalRecords):
    """simple-history for one family of audited records: writes nothing while the family is off.

    Every row simple-history writes goes through create_historical_record (save, delete and
    many-to-many changes), so this one check covers them all; bulk paths call `family_audited`.
    """

    def __init__(self, family: str, **kwargs):
        if family not in AUDIT_FAMILIES:
            raise ValueError(f"unknown audit family {family!r}")
        self.family = family
        super().__init__(**kwargs)

    def create_historical_record(self, instance, history_type, using=None):
        if family_audited(self.family):
            super().create_historical_record(instance, history_type, using=using)


def history_after_update(queryset, *, family: str, reason: str, user=None) -> None:
    """The "~" history rows an update() of these rows did not write (simple-history sees only
    save and delete), when their family is audited."""
    if family_audited(family):
        versions = [(tracked_values(obj), "~", reason) for obj in queryset]
        history_insert(queryset.model, versions, user=user)


# --- reading history as changes ------------------------------------------------------------------


def tracked_fields(model, hidden: Iterable[str] = ()) -> list:
    """The fields of `model` its history table holds, less bookkeeping and `hidden` ones."""
    kept = {f.attname for f in model.history.model._meta.concrete_fields}
    skip = SKIPPED_FIELDS | set(hidden)
    return [f for f in model._meta.concrete_fields if f.name not in skip and f.attname in kept]


def field_label(field) -> str:
    return str(field.verbose_name).capitalize()


def show_value(field, value) -> str:
    """A stored value as a person reads it in a history row."""
    if value is None or value == "":
        return "—"
    if field.choices:
        label = str(dict(field.flatchoices).get(value, value))
        # Numbered choices (consent levels 0-5) read with their number: "3 Marketing".
        return f"{value} {label}" if isinstance(value, int) and not isinstance(value, bool) else label
    if field.is_relation:
        return f"#{value}"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def change_row(record, key: str, label: str, old: str, new: str, order: int, subject: str = "") -> dict:
    return {
        "when": record.history_date,
        "order": order,
        "key": key,
        "subject": subject,
        "field": label,
        "old": old,
        "new": new,
        "user": record.history_user,
        "reason": record.history_change_reason or "",
    }


def history_rows(
    records, model, *, hidden: Iterable[str] = (), prefix: str = "", subject: str = ""
) -> list[dict]:
    """One row per changed field, from one object's history records in date order.

    Creation lists only what was filled in; deletion is one row of its own. `prefix` namespaces
    the keys of a related record's fields ("steps.kind"); `subject` names the record in the row.
    """
    fields = tracked_fields(model, hidden)
    rows, previous = [], None
    for order, record in enumerate(records):
        if record.history_type == "-":
            rows.append(change_row(record, f"{prefix}-", str(_("Deleted")), "", "", order, subject))
            previous = record
            continue
        for field in fields:
            new = getattr(record, field.attname)
            old = getattr(previous, field.attname) if previous is not None else None
            if previous is None and new in (None, "", False, 0, {}, []):
                continue  # creation: list only what was filled in
            if previous is not None and old == new:
                continue
            key = f"{prefix}{field.name}"
            old_shown = show_value(field, old)
            rows.append(
                change_row(record, key, field_label(field), old_shown, show_value(field, new), order, subject)
            )
        previous = record
    return rows


def newest_first(rows: list[dict], field: str = "") -> list[dict]:
    if field:
        rows = [row for row in rows if row["key"] == field]
    return sorted(rows, key=lambda row: (row["when"], row["order"]), reverse=True)


def record_history(model, *, pk=None, children: Iterable[tuple[str, type, str]] = (), field: str = ""):
    """The changes of one record (or of every record of `model` when pk is None, deleted ones
    included), with those of its child records: `children` holds (key, child model, the child's
    foreign key to the record), e.g. ("steps", JourneyStep, "journey")."""
    rows = []
    for subject, records in _grouped(model.history.all() if pk is None else model.history.filter(id=pk)):
        rows += history_rows(records, model, subject=subject if pk is None else "")
    for key, child, link in children:
        history = child.history.all()
        if pk is not None:
            history = history.filter(**{f"{link}_id": pk})
        name = str(child._meta.verbose_name).capitalize()
        for ident, records in _grouped(history):
            owner = f"#{getattr(records[0], f'{link}_id')} " if pk is None else ""
            rows += history_rows(records, child, prefix=f"{key}.", subject=f"{owner}{name} {ident}")
    return newest_first(rows, field)


def _grouped(history) -> Iterable[tuple[str, list]]:
    by_record: dict[int, list] = {}
    for record in history.select_related("history_user").order_by("history_date", "history_id"):
        by_record.setdefault(record.id, []).append(record)
    return ((f"#{ident}", records) for ident, records in by_record.items())


def record_field_choices(model, children: Iterable[tuple[str, type, str]] = ()) -> list[tuple[str, str]]:
    """The fields a record's history page filters by: its own, then each child's."""
    choices = [(f.name, field_label(f)) for f in tracked_fields(model)]
    for key, child, _link in children:
        name = str(child._meta.verbose_name).capitalize()
        choices += [(f"{key}.{f.name}", f"{name}: {field_label(f)}") for f in tracked_fields(child)]
    return choices


EXPORT_HEADER = ["When", "Record", "Field", "From", "To", "By", "Reason"]


def export_rows(rows: Iterable[dict]) -> Iterable[list]:
    """History rows as spreadsheet rows (core.xlsx neutralises formulas)."""
    for row in rows:
        user = row["user"]
        yield [
            row["when"],
            row["subject"],
            row["field"],
            row["old"],
            row["new"],
            user.get_username() if user is not None else "",
            row["reason"],
        ]
