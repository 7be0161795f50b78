"""The one eligibility query (rule 2 of DESIGN.md): which contacts may be processed, and for what."""

from __future__ import annotations

from django.db.models import QuerySet

# The rules live with their words in consent.eligibility; named here too, where callers look.
from consent.eligibility import (  # noqa: F401  (re-exported)
    ELIGIBILITY_RULES,
    Criteria,
    EligibilityRule,
    Explanation,
    Ineligibility,
    eligibility_conditions,
    eligibility_explain,
    rules_met,
)
from consent.models import ConsentChange, ConsentField, Purpose, PurposeConsent
from contacts.models import Contact
from contacts.selectors import SENSITIVE_CONTACT_FIELDS, sees_sensitive


def eligible_contacts(
    *,
    min_level: int,
    purpose: Purpose | str | None = None,
    needs_tracking: bool = False,
    queryset: QuerySet[Contact] | None = None,
    subscription_list=None,
    channel: str = "",
) -> QuerySet[Contact]:
    """Contacts that may be processed at `min_level`, for `purpose` if given, as one SQL query.

    Applies ELIGIBILITY_RULES: restriction of processing (GDPR Art. 18, no processing at all);
    mail for `subscription_list` never reaches who unsubscribed from it (GDPR Art. 21(3));
    children never profiled (GDPR Art. 8); the level hierarchy (higher includes lower); interaction
    tracking needs the tracking choice (ePrivacy Art. 5(3)); a purpose needs an explicit yes
    (GDPR Art. 6(1)(a)); for `channel="email"`, an address blocked by bounces gets no mail.
    """
    contacts = queryset if queryset is not None else Contact.objects.all()
    conditions = eligibility_conditions(
        min_level=min_level,
        purpose=purpose,
        needs_tracking=needs_tracking,
        subscription_list=subscription_list,
        channel=channel,
    )
    for _rule, condition in conditions:
        contacts = contacts.filter(condition)
    return contacts


def is_eligible(contact: Contact, **criteria) -> bool:
    """The same rule for one contact, checked in the database (not from a stale instance)."""
    return eligible_contacts(queryset=Contact.objects.filter(pk=contact.pk), **criteria).exists()


def ineligibility_reasons(contact: Contact, **criteria) -> list[Ineligibility]:
    """Every rule `contact` fails for these criteria (eligible_contacts keywords), in rule order;
    empty when eligible. One query, from the same conditions eligible_contacts filters by."""
    met = rules_met(contact.pk, eligibility_conditions(**criteria))
    if met is None:
        raise Contact.DoesNotExist(f"Contact {contact.pk} does not exist (any more).")
    return [reason for reason, meets in met.items() if not meets]


def ineligibility_reason(contact: Contact, **criteria) -> Ineligibility | None:
    """The first rule `contact` fails for these criteria, or None when it may be processed."""
    reasons = ineligibility_reasons(contact, **criteria)
    return reasons[0] if reasons else None


# Consent change records of these fields tell what the contact's hidden fields would.
SENSITIVE_CONSENT_FIELDS = (ConsentField.IS_CHILD,)


def consent_changes_visible_to(
    user, queryset: QuerySet[ConsentChange] | None = None
) -> QuerySet[ConsentChange]:
    """The consent change records `user` may read: without the sensitive-fields permission, none
    of a hidden field (is_child) and none of a restricted contact (GDPR Art. 18), in every door
    (admin list and export, the contact page, the API)."""
    queryset = ConsentChange.objects.all() if queryset is None else queryset
    if sees_sensitive(user):
        return queryset
    # exclude(), not filter(): records an erasure pseudonymised (no contact) stay.
    return queryset.exclude(field__in=SENSITIVE_CONSENT_FIELDS).exclude(contact__processing_restricted=True)


def contact_change_history(*, contact: Contact, include_sensitive: bool, field: str = "") -> list[dict]:
    """Every recorded change of one contact's data, newest first, one row per changed field.

    Built from the simple-history tables of Contact and PurposeConsent. `field` narrows it to one
    field ("consent_given", "purpose:<slug>", ...); sensitive fields are left out unless allowed.
    """
    hidden = set() if include_sensitive else set(SENSITIVE_CONTACT_FIELDS)
    history = contact.history.select_related("history_user").order_by("history_date", "history_id")
    rows = _history_rows(history, Contact, hidden)
    purpose_history = PurposeConsent.history.filter(contact_id=contact.pk).select_related(
        "purpose", "history_user"
    )
    by_purpose: dict[int, list] = {}
    for record in purpose_history.order_by("history_date", "history_id"):
        by_purpose.setdefault(record.purpose_id, []).append(record)
    for records in by_purpose.values():
        rows += _purpose_rows(records)
    if field:
        rows = [row for row in rows if row["key"] == field]
    rows.sort(key=lambda row: (row["when"], row["order"]), reverse=True)
    return rows


def history_field_choices(*, include_sensitive: bool) -> list[tuple[str, str]]:
    hidden = set() if include_sensitive else set(SENSITIVE_CONTACT_FIELDS)
    choices = [
        (f.name, str(f.verbose_name).capitalize()) for f in _tracked_fields(Contact) if f.name not in hidden
    ]
    choices += [(f"purpose:{p.slug}", f"Purpose: {p.name}") for p in Purpose.objects.all()]
    return choices


def _tracked_fields(model):
    skip = {"id", "created_at", "updated_at", "last_action_at"}  # the last two are not in the history
    return [f for f in model._meta.concrete_fields if f.name not in skip]


def _show(field, value) -> str:
    if value is None or value == "":
        return "—"
    if field.name == "consent_given":
        return f"{value} {dict(field.flatchoices).get(value, '')}"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.is_relation:
        return f"#{value}"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _row(record, key, label, old, new, order) -> dict:
    return {
        "when": record.history_date,
        "order": order,
        "key": key,
        "field": label,
        "old": old,
        "new": new,
        "user": record.history_user,
        "reason": record.history_change_reason or "",
    }


def _history_rows(records, model, hidden) -> list[dict]:
    fields = [f for f in _tracked_fields(model) if f.name not in hidden]
    rows, previous = [], None
    for order, record in enumerate(records):
        for field in fields:
            attname = field.attname
            new = getattr(record, attname)
            old = getattr(previous, attname) if previous is not None else None
            if previous is None and new in (None, "", False, 0):
                continue  # creation: list only what was filled in
            if previous is not None and old == new:
                continue
            rows.append(
                _row(
                    record,
                    field.name,
                    str(field.verbose_name).capitalize(),
                    _show(field, old),
                    _show(field, new),
                    order,
                )
            )
        previous = record
    return rows


def _purpose_rows(records) -> list[dict]:
    rows, previous = [], None
    for order, record in enumerate(records):
        if previous is None or previous.granted != record.granted:
            old = "—" if previous is None else ("Yes" if previous.granted else "No")
            rows.append(
                _row(
                    record,
                    f"purpose:{record.purpose.slug}",
                    f"Purpose: {record.purpose.name}",
                    old,
                    "Yes" if record.granted else "No",
                    order,
                )
            )
        previous = record
    return rows
