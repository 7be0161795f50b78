"""The segment builder: rows of field, operator and value in the admin, converted to and from the
rule tree that journeys.rules validates and runs. This module only translates; it interprets no
rule itself (who is in a segment is always rules_to_q, who of them may be processed always
consent.selectors.eligible_contacts).

Shape it draws: a top-level "all" or "any" over groups; rows sharing a group number are combined
the other way ("all" of groups each holding when any of its rows holds, or "any" of groups each
holding when all its rows hold). A group of one row is the row's condition itself; a segment of
one row is stored as the bare condition. A stored rule the builder cannot draw exactly (deeper
nesting, a hand-written variant) is left to the JSON editor, so opening and saving never changes
a rule behind the marketer's back.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date

from core.levels import ConsentLevel, level_choices, level_name
from journeys.rules import LIST_STATUSES, MAX_CONDITIONS, validate_rules

MATCH_CHOICES = [
    ("all", "all of the groups below"),
    ("any", "any of the groups below"),
]
OTHER = {"all": "any", "any": "all"}

# Operator keys shown in the builder and their labels. Some are the stored "op"; the others
# (yes/no/unanswered, list statuses) turn into a purpose's value, a list's status or a boolean.
OPERATORS = {
    "eq": "is",
    "ne": "is not",
    "contains": "contains",
    "startswith": "starts with",
    "in": "is one of (comma-separated)",
    "gte": "is at least",
    "lte": "is at most",
    "gt": "is above",
    "lt": "is below",
    "before": "before",
    "after": "after",
    "on": "on",
    "yes": "answered yes",
    "no": "answered no",
    "unanswered": "gave no answer",
    "allowed": "allowed",
    "not_allowed": "not allowed",
    "subscribed": "is subscribed",
    "pending": "is pending (not yet confirmed)",
    "unsubscribed": "unsubscribed",
}
KIND_OPS = {
    "text": ("eq", "ne", "contains", "startswith", "in"),
    "country": ("eq", "ne", "in"),
    "level": ("gte", "lte", "eq", "ne", "gt", "lt"),
    "bool": ("allowed", "not_allowed"),
    "date": ("before", "after", "on"),
    "purpose": ("yes", "no", "unanswered"),
    "list": LIST_STATUSES,
}
# Contact fields of journeys.rules.FIELDS, with the label a marketer reads and the kind of value.
CONTACT_FIELDS = {
    "country": ("Country", "country"),
    "consent_level": ("Consent level", "level"),
    "email": ("Email address", "text"),
    "first_name": ("First name", "text"),
    "last_name": ("Last name", "text"),
    "tracking_allowed": ("Interaction tracking", "bool"),
    "created_at": ("Added on (date)", "date"),
}
PURPOSE_ANSWERS = {"yes": True, "no": False, "unanswered": None}

# Countries offered as suggestions (any two-letter code is accepted, and these names too).
COUNTRIES = {
    "AT": "Austria",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "CH": "Switzerland",
    "CY": "Cyprus",
    "CZ": "Czechia",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "GR": "Greece",
    "HR": "Croatia",
    "HU": "Hungary",
    "IE": "Ireland",
    "IS": "Iceland",
    "IT": "Italy",
    "LI": "Liechtenstein",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "MT": "Malta",
    "NL": "Netherlands",
    "NO": "Norway",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "SE": "Sweden",
    "SI": "Slovenia",
    "SK": "Slovakia",
    "US": "United States",
}
COUNTRY_CODES = {name.lower(): code for code, name in COUNTRIES.items()}


def field_choices() -> list:
    """The field select: contact fields, then each consent option and each list by name."""
    from consent.models import Purpose
    from subscriptions.models import SubscriptionList

    purposes = [(f"purpose:{slug}", name) for slug, name in Purpose.objects.values_list("slug", "name")]
    lists = [(f"list:{slug}", name) for slug, name in SubscriptionList.objects.values_list("slug", "name")]
    choices = [("", "— choose —"), ("Contact", [(key, label) for key, (label, _) in CONTACT_FIELDS.items()])]
    if purposes:
        choices.append(("Consent option", purposes))
    if lists:
        choices.append(("List", lists))
    return choices


def field_kind(field: str) -> str | None:
    if field in CONTACT_FIELDS:
        return CONTACT_FIELDS[field][1]
    prefix = field.partition(":")[0]
    return prefix if prefix in ("purpose", "list") else None


# --- rows <-> stored conditions ---------------------------------------------------------------


def condition_to_row(condition) -> dict | None:
    """A stored condition as a row's values (field, op, value, level); None if no row shows it."""
    if not isinstance(condition, dict):
        return None
    if set(condition) == {"purpose", "value"} and isinstance(condition["purpose"], str):
        for op, answer in PURPOSE_ANSWERS.items():
            if condition["value"] is answer:
                return {"field": f"purpose:{condition['purpose']}", "op": op, "value": "", "level": ""}
        return None
    if set(condition) == {"list", "status"} and isinstance(condition["list"], str):
        if condition["status"] in LIST_STATUSES:
            return {"field": f"list:{condition['list']}", "op": condition["status"], "value": "", "level": ""}
        return None
    if set(condition) != {"field", "op", "value"}:
        return None
    field, op, value = condition["field"], condition["op"], condition["value"]
    kind = CONTACT_FIELDS.get(field, (None, None))[1] if isinstance(field, str) else None
    row = {"field": field, "op": op, "value": "", "level": ""}
    if kind == "level" and op in KIND_OPS["level"] and type(value) is int and 0 <= value <= 5:
        row["level"] = str(value)
    elif kind == "bool" and op == "eq" and isinstance(value, bool):
        row["op"] = "allowed" if value else "not_allowed"
    elif kind in ("text", "country", "date") and op in KIND_OPS[kind]:
        if op == "in" and isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            row["value"] = ", ".join(value)
        elif op != "in" and isinstance(value, str):
            row["value"] = value
        else:
            return None
    else:
        return None
    return row


def row_to_condition(row: dict) -> dict:
    """A cleaned row as the stored condition (the inverse of condition_to_row)."""
    field, op, kind = row["field"], row["op"], field_kind(row["field"])
    if kind == "purpose":
        return {"purpose": field.partition(":")[2], "value": PURPOSE_ANSWERS[op]}
    if kind == "list":
        return {"list": field.partition(":")[2], "status": op}
    if kind == "level":
        return {"field": field, "op": op, "value": int(row["level"])}
    if kind == "bool":
        return {"field": field, "op": "eq", "value": op == "allowed"}
    value = row["value"]
    if op == "in":
        value = [item.strip() for item in value.split(",") if item.strip()]
    return {"field": field, "op": op, "value": value}


def rows_to_rules(match: str, rows: list[tuple[int, dict]]) -> dict:
    """(group, condition) pairs as one rule tree, groups in the order they first appear."""
    groups: dict[int, list[dict]] = {}
    for group, condition in rows:
        groups.setdefault(group, []).append(condition)
    items = [members[0] if len(members) == 1 else {OTHER[match]: members} for members in groups.values()]
    if len(items) == 1 and len(rows) == 1:
        return items[0]
    return {match: items}


def rules_to_rows(rules) -> tuple[str, list[tuple[int, dict]]] | None:
    """The rule tree as (match, [(group, row values)]), or None when the builder cannot draw it
    exactly (then it stays in the JSON editor)."""
    if not isinstance(rules, dict):
        return None
    if "all" in rules or "any" in rules:
        match = "all" if "all" in rules else "any"
        children = rules[match]
        if set(rules) != {match} or not isinstance(children, list) or not children:
            return None
    else:
        match, children = "all", [rules]
    rows: list[tuple[int, dict]] = []
    for group, child in enumerate(children, 1):
        inner = child.get(OTHER[match]) if isinstance(child, dict) and set(child) == {OTHER[match]} else None
        for condition in inner if isinstance(inner, list) else [child]:
            row = condition_to_row(condition)
            if row is None:
                return None
            rows.append((group, row))
    drawn = rows_to_rules(match, [(group, row_to_condition(row)) for group, row in rows])
    return (match, rows) if drawn == rules else None


# --- the forms ------------------------------------------------------------------------------------


class RuleRowForm(forms.Form):
    """One row. Every field is optional: a row without a field is an empty row and is skipped."""

    group = forms.IntegerField(
        label="Group", required=False, min_value=1, max_value=MAX_CONDITIONS, widget=forms.NumberInput
    )
    field = forms.ChoiceField(label="Field", required=False, choices=())
    op = forms.ChoiceField(label="Operator", required=False, choices=[("", "—"), *OPERATORS.items()])
    value = forms.CharField(label="Value", required=False, max_length=1000)
    level = forms.ChoiceField(
        label="Consent level",
        required=False,
        choices=(),
    )

    def __init__(self, *args, fields_offered=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = [
            ("", "—"),
            *((str(v), label) for v, label in level_choices(numbered=False)),
        ]
        self.fields["field"].choices = fields_offered if fields_offered is not None else field_choices()
        self.fields["group"].widget.attrs.update({"class": "vIntegerField segment-group", "min": 1})
        self.fields["field"].widget.attrs["class"] = "segment-field"
        self.fields["op"].widget.attrs["class"] = "segment-op"
        self.fields["value"].widget.attrs.update({"class": "segment-value", "list": "segment-countries"})
        self.fields["level"].widget.attrs["class"] = "segment-level"
        self.condition: dict | None = None

    def clean(self):
        data = super().clean()
        field, op = data.get("field") or "", data.get("op") or ""
        value = (data.get("value") or "").strip()
        if not field:
            if op or value or data.get("level"):
                raise ValidationError("Choose a field for this row, or clear it.")
            return data
        kind = field_kind(field)
        allowed = KIND_OPS[kind]
        label = _choice_label(self.fields["field"].choices, field)
        if op not in allowed:
            names = ", ".join(f"“{OPERATORS[o]}”" for o in allowed)
            self.add_error("op", f"Choose how to compare {label}: {names}.")
            return data
        data["value"] = value
        if kind == "level":
            data["level"] = data.get("level") or _level_from_text(value)
            if data["level"] == "":
                self.add_error("level", "Choose a consent level.")
                return data
        elif kind == "country":
            items = [item.strip() for item in value.split(",")] if op == "in" else [value]
            codes = [COUNTRY_CODES.get(item.lower(), item.upper()) for item in items if item]
            if not codes:
                self.add_error("value", "Enter a country (a two-letter code such as DE, or its name).")
                return data
            data["value"] = ", ".join(codes)
        elif kind == "date":
            try:
                valid = parse_date(value) is not None
            except ValueError:
                valid = False
            if not valid:
                self.add_error("value", "Enter a date as YYYY-MM-DD, e.g. 2026-05-12.")
                return data
        elif kind == "text" and not value:
            self.add_error("value", "Enter a value to compare with.")
            return data
        condition = row_to_condition(data)
        try:
            validate_rules(condition)
        except ValidationError as error:
            # The engine's own words, without the "rule:" it puts before a whole tree's entries.
            raise ValidationError([message.removeprefix("rule: ") for message in error.messages]) from None
        self.condition = condition
        return data


def _choice_label(choices, key: str) -> str:
    for value, label in choices:
        if isinstance(label, list | tuple):
            found = _choice_label(label, key)
            if found != key:
                return found
        elif value == key:
            return str(label)
    return key


def _level_from_text(text: str) -> str:
    """A consent level typed as a number or a name (for browsers without the select)."""
    text = text.strip().lower()
    for value, label in ConsentLevel.choices:
        if text in (str(value), str(label).lower(), level_name(value).lower()):
            return str(value)
    return ""


class BaseRuleRowFormSet(forms.BaseFormSet):
    def __init__(self, *args, fields_offered=None, **kwargs):
        self.fields_offered = fields_offered if fields_offered is not None else field_choices()
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "fields_offered": self.fields_offered}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            renderer=self.renderer,
            fields_offered=self.fields_offered,
        )
        self.add_fields(form, None)
        return form


RuleRowFormSet = forms.formset_factory(
    RuleRowForm,
    formset=BaseRuleRowFormSet,
    extra=1,
    max_num=MAX_CONDITIONS,
    validate_max=True,
    absolute_max=MAX_CONDITIONS + 5,
)
PREFIX = "row"


class RuleBuilder:
    """The match choice and the rows, bound to posted data or opened from stored rules."""

    def __init__(self, data=None, *, rules=None, add_row: bool = False):
        offered = field_choices()
        if data is not None:
            data = data.copy()
            if add_row:
                total = data.get(f"{PREFIX}-TOTAL_FORMS", "0")
                data[f"{PREFIX}-TOTAL_FORMS"] = str(int(total) + 1 if total.isdigit() else 1)
            self.match = forms.Form(data)
            self.match.fields["match"] = forms.ChoiceField(label="Contacts match", choices=MATCH_CHOICES)
            self.rows = RuleRowFormSet(data, prefix=PREFIX, fields_offered=offered)
            return
        drawn = rules_to_rows(rules) if rules else ("all", [])
        match, rows = drawn or ("all", [])
        initial = [{"group": group, **row} for group, row in rows]
        self.match = forms.Form(initial={"match": match})
        self.match.fields["match"] = forms.ChoiceField(label="Contacts match", choices=MATCH_CHOICES)
        self.rows = RuleRowFormSet(initial=initial, prefix=PREFIX, fields_offered=offered)
        for index, form in enumerate(self.rows.forms):
            if index >= len(initial):
                form.initial = {"group": index + 1}

    def is_valid(self) -> bool:
        return self.match.is_valid() & self.rows.is_valid() and self.problems() == []

    def problems(self) -> list[str]:
        """Errors that belong to no single row."""
        if not self.rows.is_bound or not self.rows.is_valid():
            return []
        if not any(form.condition for form in self.rows.forms):
            return ["Add at least one row: choose a field, how to compare it and a value."]
        return []

    @property
    def rules(self) -> dict:
        """The rule tree of valid rows. Call is_valid() first."""
        rows = []
        for index, form in enumerate(self.rows.forms):
            if form.condition is not None:
                group = form.cleaned_data.get("group") or (MAX_CONDITIONS + 1 + index)  # blank: its own
                rows.append((group, form.condition))
        return rows_to_rules(self.match.cleaned_data["match"], rows)

    def row_errors(self) -> dict[int, list[str]]:
        """Errors by row number (1-based), each message naming its field where it has one."""
        found: dict[int, list[str]] = {}
        for index, form in enumerate(self.rows.forms, 1):
            messages = []
            for name, errors in form.errors.items():
                label = form.fields[name].label if name in form.fields else ""
                messages += [f"{label}: {message}" if label else message for message in errors]
            if messages:
                found[index] = messages
        return found

    def rows_with_errors(self) -> list[tuple[forms.Form, list[str]]]:
        found = self.row_errors() if self.rows.is_bound else {}
        return [(form, found.get(index, [])) for index, form in enumerate(self.rows.forms, 1)]

    def general_errors(self) -> list[str]:
        return [*self.rows.non_form_errors(), *self.match.errors.get("match", []), *self.problems()]
