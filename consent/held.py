"""What consent we held for a contact at a moment, read from the consent change records alone
(never from the contact's current state): the level, the tracking choice and each purpose answer
in force then, each with the record that set it.

"Held" means recorded by then: a record entered later with an earlier effective date was not yet
held at that moment (we could not have relied on it), so it does not count. The records are
append-only, so the answer for a past moment never changes afterwards; that is why the record of
what a send relied on (journeys) and the contact page's "what did we hold on date X" are both
this one function and cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from consent.models import ConsentChange, ConsentField, Purpose
from core.levels import ConsentLevel


@dataclass(frozen=True)
class HeldAnswer:
    """One purpose's answer in force: granted None when nothing was recorded by then."""

    purpose: Purpose
    granted: bool | None
    record: ConsentChange | None

    @property
    def words(self) -> str:
        return ConsentChange.describe_value(
            ConsentField.PURPOSE, "" if self.granted is None else str(self.granted)
        )


@dataclass(frozen=True)
class HeldConsent:
    """The consent in force for one contact at `at`, from the records recorded until then."""

    at: datetime
    level: int
    level_record: ConsentChange | None
    tracking_allowed: bool
    tracking_record: ConsentChange | None
    answers: tuple[HeldAnswer, ...]

    @property
    def level_words(self) -> str:
        return f"{self.level} {ConsentLevel(self.level).label}"

    @property
    def records(self) -> list[ConsentChange]:
        """The change records in force at that moment (each once), oldest first."""
        found = [self.level_record, self.tracking_record, *(a.record for a in self.answers)]
        unique = {r.pk: r for r in found if r is not None}
        return sorted(unique.values(), key=lambda r: (r.recorded_at, r.pk))

    def answer_for(self, purpose: Purpose) -> HeldAnswer | None:
        return next((a for a in self.answers if a.purpose.pk == purpose.pk), None)


def consent_held_at(contact, when: datetime, *, purposes: Iterable[Purpose] | None = None) -> HeldConsent:
    """The consent we held for `contact` at `when`, from its change records recorded until then.

    GDPR Art. 7(1): the controller must be able to demonstrate the consent it relied on. The last
    record per field (by recording order) sets the value; nothing recorded means level 0, no
    tracking and no answer. `purposes`: the answers to report (default: every purpose the contact
    had answered by then, plus the active ones, so "not answered" shows too).
    """
    records = (
        ConsentChange.objects.filter(contact_id=contact.pk, recorded_at__lte=when)
        .exclude(field=ConsentField.IS_CHILD)
        .select_related("purpose", "actor")
        .order_by("recorded_at", "id")
    )
    latest: dict[tuple[str, int | None], ConsentChange] = {}
    for record in records:
        latest[(record.field, record.purpose_id)] = record
    level_record = latest.get((ConsentField.CONSENT_GIVEN, None))
    tracking_record = latest.get((ConsentField.TRACKING, None))
    answered = {pid: r for (field, pid), r in latest.items() if field == ConsentField.PURPOSE and pid}
    if purposes is None:
        shown = {r.purpose.pk: r.purpose for r in answered.values()}
        shown.update({p.pk: p for p in Purpose.objects.filter(active=True)})
        chosen = sorted(shown.values(), key=lambda p: p.name)
    else:
        chosen = list(purposes)
    answers = tuple(
        HeldAnswer(p, (answered[p.pk].new_value == "True") if p.pk in answered else None, answered.get(p.pk))
        for p in chosen
    )
    return HeldConsent(
        at=when,
        level=_level(level_record),
        level_record=level_record,
        tracking_allowed=bool(tracking_record and tracking_record.new_value == "True"),
        tracking_record=tracking_record,
        answers=answers,
    )


def _level(record: ConsentChange | None) -> int:
    if record is None:
        return ConsentLevel.NONE
    try:
        return int(record.new_value)
    except ValueError:
        return ConsentLevel.NONE
