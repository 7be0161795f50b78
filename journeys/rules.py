"""Segment rules: stored as JSON, validated with messages a marketer understands, turned into one Q.

A rule is a group or a condition:
    {"all": [rule, ...]}                  every rule holds (and)
    {"any": [rule, ...]}                  at least one holds (or)
    {"field": "country", "op": "eq", "value": "DE"}
    {"field": "consent_level", "op": "gte", "value": 4}
    {"purpose": "newsletter", "value": true}     consent option and value (false: said no, null: no answer)
    {"list": "news", "status": "subscribed"}     list membership (subscribed, pending, unsubscribed)
    {"renewal": "due"}                           a consent (purpose or list) lapses within
                                                 REPERMISSION_DAYS_BEFORE_LAPSE days (journeys.repermission)

The Q only describes who is in the segment; who may be processed is always decided by
consent.selectors.eligible_contacts, which gets the segment as its `queryset` (rule 2 of DESIGN.md).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from core.safe_json import check_json

MAX_DEPTH = 5
MAX_CONDITIONS = 50

TEXT_OPS = {"eq": "iexact", "ne": "iexact", "contains": "icontains", "startswith": "istartswith", "in": "in"}
NUMBER_OPS = {"eq": "exact", "ne": "exact", "gte": "gte", "lte": "lte", "gt": "gt", "lt": "lt"}
DATE_OPS = {"before": "date__lt", "after": "date__gt", "on": "date"}
BOOL_OPS = {"eq": "exact"}
# field name in rules -> (Contact field, operators). Sensitive fields (child, guardian, restriction)
# are left out on purpose: a marketer's segment must not select by them.
FIELDS = {
    "first_name": ("first_name", TEXT_OPS),
    "last_name": ("last_name", TEXT_OPS),
    "email": ("email", TEXT_OPS),
    "country": ("country", TEXT_OPS),
    "consent_level": ("consent_given", NUMBER_OPS),
    "tracking_allowed": ("tracking_allowed", BOOL_OPS),
    "created_at": ("created_at", DATE_OPS),
    "language": ("language", TEXT_OPS),
}
LIST_STATUSES = ("subscribed", "pending", "unsubscribed")


def validate_rules(rules) -> None:
    """Raise ValidationError naming every problem (with where it is) in a rule tree."""
    problems: list[str] = []
    count = [0]
    if not isinstance(rules, dict) or not rules:
        raise ValidationError(_("A segment needs at least one rule."))
    # No database stores a NUL or a lone surrogate in a text (PostgreSQL refused the query), no
    # name or value has one, and nesting is bounded before _check recurses into it.
    check_json(rules)
    _check(rules, "rule", 1, problems, count)
    if count[0] > MAX_CONDITIONS:
        problems.append(_("A segment may have at most %d conditions.") % MAX_CONDITIONS)
    if problems:
        raise ValidationError(problems)


def _check(rule, where: str, depth: int, problems: list[str], count: list[int]) -> None:
    if not isinstance(rule, dict):
        problems.append(_("%s is not a rule (expected an object).") % where)
        return
    if "all" in rule or "any" in rule:
        key = "all" if "all" in rule else "any"
        children = rule[key]
        if set(rule) != {key}:
            problems.append(_("%s: a group has only “all” or “any”, not both or more.") % where)
        if depth > MAX_DEPTH:
            problems.append(_("%s: groups may be nested at most %d deep.") % (where, MAX_DEPTH))
            return
        if not isinstance(children, list) or not children:
            problems.append(_("%s: “%s” needs a list of at least one rule.") % (where, key))
            return
        for index, child in enumerate(children, 1):
            _check(child, f"{where} {index}" if depth > 1 else f"rule {index}", depth + 1, problems, count)
        return
    count[0] += 1
    if "field" in rule:
        _check_field(rule, where, problems)
    elif "purpose" in rule:
        _check_purpose(rule, where, problems)
    elif "list" in rule:
        _check_list(rule, where, problems)
    elif "renewal" in rule:
        if rule != {"renewal": "due"}:
            problems.append(_('%s: a renewal rule is written {"renewal": "due"}.') % where)
    else:
        problems.append(
            _("%s: say what to test: “field”, “purpose”, “list” or “renewal”, or group with “all”/“any”.")
            % where
        )


def _check_field(rule, where, problems):
    name, op, value = rule.get("field"), rule.get("op"), rule.get("value")
    # Any JSON may arrive: a list or an object is no field name or operator (and is unhashable).
    name, op = (name if isinstance(name, str) else repr(name)), (op if isinstance(op, str) else repr(op))
    if set(rule) - {"field", "op", "value"}:
        problems.append(
            _("%s: unknown keys %s.") % (where, ", ".join(sorted(set(rule) - {"field", "op", "value"})))
        )
    if name not in FIELDS:
        problems.append(
            _("%s: there is no contact field “%s”; use one of %s.") % (where, name, ", ".join(sorted(FIELDS)))
        )
        return
    ops = FIELDS[name][1]
    if op not in ops:
        problems.append(
            _("%s: %s cannot be compared with “%s”; use one of %s.") % (where, name, op, ", ".join(ops))
        )
        return
    if ops is TEXT_OPS:
        if op == "in":
            if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
                problems.append(_("%s: “in” needs a list of texts.") % where)
        elif not isinstance(value, str):
            problems.append(_("%s: %s needs a text value.") % (where, name))
        if name == "country":
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and not (len(v) == 2 and v.isalpha()) for v in values):
                problems.append(_("%s: a country is a two-letter code such as DE.") % where)
    elif ops is NUMBER_OPS:
        if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 5):
            problems.append(_("%s: a consent level is a whole number from 0 to 5.") % where)
    elif ops is BOOL_OPS:
        if not isinstance(value, bool):
            problems.append(_("%s: %s is true or false.") % (where, name))
    elif not (isinstance(value, str) and parse_date(value)):
        problems.append(_("%s: a date is written YYYY-MM-DD.") % where)


def _check_purpose(rule, where, problems):
    from consent.models import Purpose

    if set(rule) != {"purpose", "value"}:
        problems.append(
            _("%s: a consent option rule has “purpose” and “value” (true, false or null).") % where
        )
        return
    if rule["value"] not in (True, False, None) or type(rule["value"]) not in (bool, type(None)):
        problems.append(_("%s: the consent value is true, false or null (no answer).") % where)
    if not isinstance(rule["purpose"], str) or not Purpose.objects.filter(slug=rule["purpose"]).exists():
        problems.append(_("%s: there is no consent option with the key “%s”.") % (where, rule["purpose"]))


def _check_list(rule, where, problems):
    from subscriptions.models import SubscriptionList

    if set(rule) - {"list", "status"}:
        problems.append(_("%s: a list rule has “list” and optionally “status”.") % where)
    status = rule.get("status", "subscribed")
    if not isinstance(status, str) or status not in LIST_STATUSES:
        problems.append(_("%s: the list status is one of %s.") % (where, ", ".join(LIST_STATUSES)))
    if not isinstance(rule["list"], str) or not SubscriptionList.objects.filter(slug=rule["list"]).exists():
        problems.append(_("%s: there is no list with the key “%s”.") % (where, rule["list"]))


def rules_to_q(rules) -> Q:
    """The rule tree as one Q over Contact (subqueries for purposes and lists). Validate first."""
    if "all" in rules or "any" in rules:
        combined = Q()
        for child in rules.get("all") or rules.get("any"):
            part = rules_to_q(child)
            combined = part if not combined else (combined & part if "all" in rules else combined | part)
        return combined
    if "field" in rules:
        return _field_q(rules)
    if "renewal" in rules:
        from journeys.repermission import renewal_due_condition

        return renewal_due_condition()
    if "purpose" in rules:
        from consent.models import PurposeConsent

        answers = PurposeConsent.objects.filter(contact=OuterRef("pk"), purpose__slug=rules["purpose"])
        if rules["value"] is None:
            return ~Q(Exists(answers))
        return Q(Exists(answers.filter(granted=rules["value"])))
    from subscriptions.models import Subscription

    members = Subscription.objects.filter(
        contact=OuterRef("pk"),
        subscription_list__slug=rules["list"],
        status=rules.get("status", "subscribed"),
    )
    return Q(Exists(members))


def _field_q(rule) -> Q:
    column, ops = FIELDS[rule["field"]]
    op, value = rule["op"], rule["value"]
    if ops is DATE_OPS:
        value = dt.date.fromisoformat(value)
    if rule["field"] == "country":
        value = [v.upper() for v in value] if isinstance(value, list) else value.upper()
    if op == "in":
        # iexact for each value: one OR of equalities keeps the index on exact-match columns usable.
        q = Q()
        for item in value:
            q |= Q(**{f"{column}__iexact": item})
        return q
    condition = Q(**{f"{column}__{ops[op]}": value})
    return ~condition if op == "ne" else condition
