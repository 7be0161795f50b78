"""Retention (GDPR Art. 5(1)(e)): when consent lapses and when a contact with nothing left is
erased, computed in one place for the admin's preview and for the job that will act on it.

Each purpose and each subscription list carries its rules as data (consent.models.ProcessingRecord):
how long consent lasts, the clock it runs from (the answer's date, or the person's last real action,
Contact.last_action_at), how long a contact may stay inactive, and a legal basis that keeps data
longer. Lists register here from their own app (subscriptions/retention_rules.py) and so does
anything else that keeps a contact, such as an open data subject request (dsr/retention_rules.py);
consent never imports them. Contacts are always chosen through the eligibility selector
(consent.selectors.eligible_contacts): a restricted contact (Art. 18) is neither lapsed nor erased.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import DateTimeField, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.models import ProcessingRecord, Purpose, PurposeConsent, RetentionClock
from consent.selectors import eligible_contacts
from contacts.models import Contact, LegalHold
from core.levels import ConsentLevel

HORIZONS = (30, 90)  # days ahead the preview looks


@dataclass(frozen=True)
class RuleKind:
    """A kind of record with retention rules (purposes, lists) and how its rows are found.

    rows(ids): every row (answer, subscription) of these records, with `contact` and `changed_at`;
    held(ids): the rows that hold consent now; criteria(record): eligible_contacts keywords that
    pick the contacts holding it.
    """

    key: str
    label: str
    records: Callable[[], Iterable[ProcessingRecord]]
    rows: Callable[[list[int]], QuerySet]
    held: Callable[[list[int]], QuerySet]
    criteria: Callable[[ProcessingRecord], dict]


_KINDS: dict[str, RuleKind] = {}
# Conditions on Contact (Q or Exists) that keep a contact from erasure while they hold.
_KEEPERS: dict[str, Callable[[], Q]] = {}


def register_kind(kind: RuleKind) -> None:
    _KINDS[kind.key] = kind


def register_keeper(name: str, condition: Callable[[], Q]) -> None:
    _KEEPERS[name] = condition


register_kind(
    RuleKind(
        "purpose",
        _("Purpose"),
        lambda: Purpose.objects.order_by("name"),
        lambda ids: PurposeConsent.objects.filter(purpose_id__in=ids),
        lambda ids: PurposeConsent.objects.filter(purpose_id__in=ids, granted=True),
        lambda purpose: {"purpose": purpose},
    )
)


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall-clock moment `months` calendar months earlier (31 March - 1 = 28/29 Feb)."""
    return add_months(moment, -months)


def add_months(moment, months: int):
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _clock(record: ProcessingRecord, contact_ref):
    """When a held row's validity starts: its answer's date, or the person's last action when later."""
    if record.validity_clock == RetentionClock.ANSWER:
        return F("changed_at")
    moment = DateTimeField()
    return Greatest(
        F("changed_at"), Coalesce(contact_ref, F("changed_at"), output_field=moment), output_field=moment
    )


def lapsing_contacts(kind: RuleKind, record: ProcessingRecord, *, by: datetime) -> QuerySet[Contact]:
    """Contacts whose consent for `record` has lapsed or lapses by `by`; none when it never lapses.
    A legal hold lasting to `by` keeps a contact out: the job skips them, so the preview does too."""
    if record.consent_validity_months is None:
        return Contact.objects.none()
    cutoff = months_before(by, record.consent_validity_months)
    due = (
        kind.held([record.pk])
        .filter(contact=OuterRef("pk"))
        .annotate(clock=_clock(record, OuterRef("last_action_at")))
        .filter(clock__lte=cutoff)
    )
    holders = Contact.objects.filter(Exists(due)).exclude(Exists(_holds_lasting_to(by)))
    return eligible_contacts(min_level=ConsentLevel.NONE, queryset=holders, **kind.criteria(record))


def lapse_dates(kind: RuleKind, record: ProcessingRecord, contact_ids: list[int]) -> dict[int, datetime]:
    """When each of these contacts' consent for `record` lapses (for the exported list)."""
    if record.consent_validity_months is None:
        return {}
    clocks = validity_clocks(kind, record, contact_ids)
    return {pk: add_months(clock, record.consent_validity_months) for pk, clock in clocks.items()}


def validity_clocks(kind: RuleKind, record: ProcessingRecord, contact_ids: list[int]) -> dict[int, datetime]:
    """When each of these contacts' held consent for `record` started to run (the lapse's evidence)."""
    rows = (
        kind.held([record.pk])
        .filter(contact_id__in=contact_ids)
        .annotate(clock=_clock(record, F("contact__last_action_at")))
        .values_list("contact_id", "clock")
    )
    return dict(rows)


def all_rules() -> list[tuple[RuleKind, ProcessingRecord]]:
    """Every rule: each registered kind (purposes, lists) with each of its records."""
    return [(kind, record) for kind in _KINDS.values() for record in kind.records()]


def erasable_contacts(*, by: datetime, rules=None) -> QuerySet[Contact]:
    """Contacts with nothing left by `by`: no consent of any purpose or list still valid then, past
    the inactivity period (or a legal basis's longer period) of every purpose and list they ever
    answered, no legal hold lasting to `by`, nothing registered keeping them (an open request).

    A contact who never answered any purpose or list with an inactivity period is left alone.
    """
    rules = all_rules() if rules is None else rules
    known, blocking, surviving = Q(pk__in=[]), Q(pk__in=[]), Q(pk__in=[])
    by_kind: dict[str, dict] = {}
    for kind, record in rules:
        groups = by_kind.setdefault(kind.key, {"kind": kind, "keep": {}, "valid": {}})
        groups["keep"].setdefault(record.keep_months(), []).append(record.pk)
        if record.consent_validity_months is None:
            groups["valid"].setdefault(None, []).append(record)
        else:
            groups["valid"].setdefault((record.consent_validity_months, record.validity_clock), []).append(
                record
            )
    for groups in by_kind.values():
        kind = groups["kind"]
        for keep, ids in groups["keep"].items():
            has_row = Exists(kind.rows(ids).filter(contact=OuterRef("pk")))
            if keep is None:
                blocking |= Q(has_row)
                continue
            known |= Q(has_row)
            blocking |= Q(has_row) & Q(seen__gt=months_before(by, keep))
        for validity, records in groups["valid"].items():
            held = kind.held([r.pk for r in records]).filter(contact=OuterRef("pk"))
            if validity is not None:
                months, _clock_kind = validity
                held = held.annotate(clock=_clock(records[0], OuterRef("last_action_at"))).filter(
                    clock__gt=months_before(by, months)
                )
            surviving |= Q(Exists(held))
    held_on = _holds_lasting_to(by)
    # Never seen acting: the clock runs from when the contact was created.
    seen = Coalesce("last_action_at", "created_at")
    candidates = (
        Contact.objects.annotate(seen=seen)
        .filter(known)
        .exclude(blocking)
        .exclude(surviving)
        .exclude(Exists(held_on))
    )
    for condition in _KEEPERS.values():
        candidates = candidates.exclude(condition())
    return eligible_contacts(min_level=ConsentLevel.NONE, queryset=candidates)


def _holds_lasting_to(by: datetime) -> QuerySet[LegalHold]:
    """The legal holds of the outer contact that still last on `by`'s day."""
    return LegalHold.objects.filter(contact=OuterRef("pk"), until__gte=_day(by))


def _day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


@dataclass
class RulePreview:
    """One purpose's or list's figures: contacts whose consent lapses, and contacts erased, by horizon."""

    kind: RuleKind
    record: ProcessingRecord
    lapsing: dict[int, int] = field(default_factory=dict)
    erased: dict[int, int] = field(default_factory=dict)


def retention_preview(*, now: datetime | None = None, horizons=HORIZONS) -> list[RulePreview]:
    """Per purpose and list, how many consents lapse and how many contacts would be erased within
    each horizon (days from now, overdue included: the next run acts on them)."""
    now = now or timezone.now()
    rules = all_rules()
    erasable = {days: erasable_contacts(by=now + timedelta(days=days), rules=rules) for days in horizons}
    previews = []
    for kind, record in rules:
        preview = RulePreview(kind, record)
        member = Exists(kind.rows([record.pk]).filter(contact=OuterRef("pk")))
        for days in horizons:
            preview.lapsing[days] = lapsing_contacts(kind, record, by=now + timedelta(days=days)).count()
            preview.erased[days] = erasable[days].filter(member).count()
        previews.append(preview)
    return previews


def retention_due_rows(*, now: datetime | None = None, days: int = max(HORIZONS)):
    """What happens within `days`, row by row for the exported list: (rule kind, rule, contact,
    what, when). Lapses carry their date; erasures the horizon they fall in."""
    now = now or timezone.now()
    rules = all_rules()
    for kind, record in rules:
        due = lapsing_contacts(kind, record, by=now + timedelta(days=days)).order_by("pk")
        for chunk in _chunks(due.iterator(chunk_size=2000), 2000):
            dates = lapse_dates(kind, record, [c.pk for c in chunk])
            for contact in chunk:
                yield kind, record, contact, "lapse", dates.get(contact.pk)
    erasable = erasable_contacts(by=now + timedelta(days=days), rules=rules)
    for kind, record in rules:
        member = Exists(kind.rows([record.pk]).filter(contact=OuterRef("pk")))
        for contact in erasable.filter(member).order_by("pk").iterator(chunk_size=2000):
            yield kind, record, contact, "erase", None


def _chunks(iterator, size: int):
    chunk = []
    for item in iterator:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# Re-permission (issue 21, scope 3; journeys.repermission asks): whose consent lapses soon.


def _lapsing_between(kind: RuleKind, record: ProcessingRecord, after: datetime, by: datetime, contact_ref):
    """The held rows of `record` whose consent lapses after `after` and by `by`."""
    months = record.consent_validity_months
    return (
        kind.held([record.pk])
        .annotate(clock=_clock(record, contact_ref))
        .filter(clock__gt=months_before(after, months), clock__lte=months_before(by, months))
    )


def renewal_due_q(*, after: datetime, by: datetime) -> Q:
    """A condition on Contact: holds a consent (any purpose or list) that lapses after `after` and
    by `by`. Already lapsed consent is left out: it is not processed, so it is not asked about."""
    condition = Q(pk__in=[])
    for kind, record in all_rules():
        if record.consent_validity_months is not None:
            due = _lapsing_between(kind, record, after, by, OuterRef("last_action_at"))
            condition |= Q(Exists(due.filter(contact=OuterRef("pk"))))
    return condition


def renewals_due(
    contact: Contact, *, after: datetime, by: datetime
) -> list[tuple[RuleKind, ProcessingRecord]]:
    """The purposes and lists whose consent of `contact` lapses after `after` and by `by`."""
    return [
        (kind, record)
        for kind, record in all_rules()
        if record.consent_validity_months is not None
        and _lapsing_between(kind, record, after, by, F("contact__last_action_at"))
        .filter(contact=contact)
        .exists()
    ]
