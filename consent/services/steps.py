"""The plan behind consent_changes_apply: the locked rows, the steps each wish plans, and the
statements that write them all at the end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.audit_chain import seal
from consent.models import ConsentChange, ConsentField, Purpose, PurposeConsent, Source
from consent.rules import consent_check
from consent.services.inputs import check_effective, check_evidence, check_justification
from contacts.models import Contact
from core.bulk import bulk_insert, bulk_set, dialect, fetch_many, history_insert, tracked_values
from core.levels import ConsentLevel, level_evidence, memo, memo_fill, memo_wants_rows
from core.models import ComplianceSettings, LevelWording
from webhooks.models import Endpoint, EventType
from webhooks.outbox import News, active_endpoints_sql, events_publish

if TYPE_CHECKING:
    from consent.services.changes import ConsentWish

_IN_BATCH = 2000  # ids per IN (...) list, well inside every backend's parameter limit


@dataclass(eq=False)
class Step:
    """One field of one contact that a wish changes, and the record written for it."""

    contact: Contact
    field: str
    purpose: Purpose | None
    old: object
    new: object
    wish: ConsentWish
    effective_at: datetime
    justification: str
    reason: str  # the history rows' change reason: the justification, or the source's name
    record: ConsentChange | None = None


@dataclass
class _GroupDraft:
    """What one group's wishes planned so far: values they set, seen by the wishes after them,
    and folded into the State only when the whole group holds."""

    levels: dict[int, int] = field(default_factory=dict)
    tracking: dict[int, bool] = field(default_factory=dict)
    granted: dict[tuple[int, int], bool | None] = field(default_factory=dict)
    stated_at: dict[tuple[int, int], datetime] = field(default_factory=dict)
    planned: list[Step] = field(default_factory=list)
    versions: list[tuple[Contact, int, bool, str]] = field(default_factory=list)
    newer: list[tuple[Purpose, datetime]] = field(default_factory=list)  # answers that kept a wish out
    skipped: int = 0
    acted: dict[int, datetime] = field(default_factory=dict)  # contacts who gave or confirmed, when

    def add(self, contact: Contact, changes: list[tuple], wanted: dict, step_args: tuple) -> None:
        """Plan one wish's changes (field, purpose, old, new) of `contact`."""
        wish, effective_at, justification, reason = step_args
        for name, purpose, old, new in changes:
            self.planned.append(
                Step(contact, name, purpose, old, new, wish, effective_at, justification, reason)
            )
            if name == ConsentField.CONSENT_GIVEN:
                self.levels[contact.pk] = new
            elif name == ConsentField.TRACKING:
                self.tracking[contact.pk] = new
            else:
                self.granted[(contact.pk, purpose.pk)] = new
        for purpose in wanted:
            key = (contact.pk, purpose.pk)
            self.stated_at[key] = max(effective_at, self.stated_at.get(key, effective_at))
        if any(name != ConsentField.PURPOSE for name, *_rest in changes):
            level_then = self.levels.get(contact.pk, contact.consent_given)
            tracks = self.tracking.get(contact.pk, contact.tracking_allowed)
            self.versions.append((contact, level_then, tracks, reason))

    def older_refusal(self) -> ValidationError:
        """Every wish met a newer answer: name the newest."""
        purpose, at = max(self.newer, key=lambda kept: kept[1])
        return ValidationError(
            _("A newer answer for “%(purpose)s” exists (given %(date)s); this change is older.")
            % {"purpose": purpose.name, "date": timezone.localtime(at).strftime("%Y-%m-%d %H:%M")},
            code="older",
        )


class State:
    """The rows one consent_changes_apply call locked, changed in memory group by group and
    written together at the end."""

    def __init__(self, contacts: dict[int, Contact], answers: dict, purposes: dict[str, Purpose]):
        self.contacts, self.answers, self.purposes = contacts, answers, purposes
        # Read with the locks where the database allows (_lock_at_once); else read when needed.
        self.log_changes: bool | None = None
        self.endpoints: list | None = None
        self.steps: list[Step] = []
        # History in order: per wish that changed a contact row (contact, level, tracking, reason),
        # per changed answer (answer, granted, date, reason, history type).
        self.contact_versions: list[tuple[Contact, int, bool, str]] = []
        self.answer_versions: list[tuple[PurposeConsent, bool, datetime, str, str]] = []
        # When each (contact, purpose) answer was last stated by a wish applied in this call, even
        # one that changed nothing: a newer row restating an answer still outdates an older row.
        self.stated_at: dict[tuple[int, int], datetime] = {}
        # When each contact last gave or confirmed something, changed or not (contacts.activity).
        self.acted: dict[int, datetime] = {}

    @classmethod
    def lock(cls, groups) -> State:
        wishes = [wish for group in groups for wish in group]
        ids = sorted({w.contact_id for w in wishes})
        keys = {key for w in wishes for key in (w.purposes or {})}
        slugs = {key for key in keys if isinstance(key, str)}
        given = {k.pk for k in keys if isinstance(k, Purpose)}
        if dialect(connection).queues_writes and len(ids) <= _IN_BATCH:
            return cls._lock_at_once(ids, slugs, given, levels=any(w.level is not None for w in wishes))
        purposes = {p.slug: p for p in Purpose.objects.filter(slug__in=slugs)} if slugs else {}
        purpose_ids = {p.pk for p in purposes.values()} | given
        contacts, answers = {}, {}
        for start in range(0, len(ids), _IN_BATCH):
            batch = ids[start : start + _IN_BATCH]
            # Locked in id order: a concurrent change of one of these contacts waits, then sees
            # this one's result (no lost update; records chain old → new), and two batch writers
            # over the same contacts queue instead of deadlocking.
            contacts.update((c.pk, c) for c in _contacts_locked(batch))
            if purpose_ids:
                answered = PurposeConsent.objects.select_for_update().filter(
                    contact_id__in=batch, purpose_id__in=purpose_ids
                )
                answers.update(((pc.contact_id, pc.purpose_id), pc) for pc in answered.order_by("pk"))
        return cls(contacts, answers, purposes)

    @classmethod
    def _lock_at_once(cls, ids: list[int], slugs: set[str], given: set[int], *, levels: bool) -> State:
        """lock() in one round trip (PostgreSQL): the purposes named, the log switch, the level
        wording (when a level may change), the receivers of events, then the rows locked in id
        order, contacts before answers as lock() takes them."""
        quote = connection.ops.quote_name
        purpose_table, contact_table, answer_table, wording_table = (
            quote(m._meta.db_table) for m in (Purpose, Contact, PurposeConsent, LevelWording)
        )
        # Only quoted names from the models' meta are spliced in; values go through parameters.
        reads: list[tuple] = []
        if slugs:
            reads.append((Purpose, f"SELECT * FROM {purpose_table} WHERE slug = ANY(%s)", [sorted(slugs)]))  # noqa: S608
        reads.append((None, ComplianceSettings.switch_sql("log_consent_changes"), []))
        wording = levels and memo_wants_rows()
        if wording:
            reads.append((LevelWording, f"SELECT * FROM {wording_table}", []))  # noqa: S608
        reads.append((Endpoint, active_endpoints_sql(), []))
        locked = f"SELECT * FROM {contact_table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE"  # noqa: S608
        reads.append((Contact, locked, [ids]))
        if slugs or given:
            named = f"SELECT id FROM {purpose_table} WHERE slug = ANY(%s)"  # noqa: S608
            locked = (
                f"SELECT * FROM {answer_table} WHERE contact_id = ANY(%s) "  # noqa: S608
                f"AND (purpose_id = ANY(%s) OR purpose_id IN ({named})) ORDER BY id FOR UPDATE"
            )
            reads.append((PurposeConsent, locked, [ids, sorted(given), sorted(slugs)]))
        results = fetch_many(reads)
        purposes = {p.slug: p for p in results.pop(0)} if slugs else {}
        switch = results.pop(0)
        if wording:
            memo_fill(results.pop(0))
        endpoints = results.pop(0)
        contacts = {c.pk: c for c in results.pop(0)}
        answers = {(pc.contact_id, pc.purpose_id): pc for pc in results.pop(0)} if results else {}
        state = cls(contacts, answers, purposes)
        state.log_changes = bool(switch[0][0]) if switch else None  # no row yet: load() makes it
        state.endpoints = endpoints
        return state

    def apply_group(
        self, group: Sequence[ConsentWish], *, source: str, now: datetime, needs_reason: bool
    ) -> list[Step]:
        """Check each wish of the group against the state so far; fold in all of them, or none."""
        draft = _GroupDraft()
        for wish in group:
            self._plan_wish(wish, draft, source=source, now=now, needs_reason=needs_reason)
        if draft.skipped and draft.skipped == len(group):  # every wish met a newer answer
            raise draft.older_refusal()
        self._fold(draft, source=source)
        return draft.planned

    def _plan_wish(
        self, wish: ConsentWish, draft: _GroupDraft, *, source: str, now: datetime, needs_reason: bool
    ) -> None:
        """Check one wish against the state and the group so far, and add its changes to the draft."""
        contact = self.contacts.get(wish.contact_id)
        if contact is None:
            raise ValidationError(_("This contact no longer exists."))
        justification = check_justification(justification=wish.justification, needs_reason=needs_reason)
        check_evidence(wish.evidence or {})
        effective_at = check_effective(wish.effective_at, now)
        wanted = self._resolve(wish.purposes)
        if wish.keep_answers_after is not None:
            kept = [
                (purpose, at)
                for purpose in wanted
                if (at := self._answered_at((contact.pk, purpose.pk), draft.stated_at))
                and at > wish.keep_answers_after
            ]
            if kept:
                draft.newer += kept
                draft.skipped += 1
                return
        answers_now = {}
        for purpose in wanted:
            key = (contact.pk, purpose.pk)
            answers_now[purpose] = (
                draft.granted[key] if key in draft.granted else _granted(self.answers.get(key))
            )
        changes = plan(
            wish,
            level=draft.levels.get(contact.pk, contact.consent_given),
            tracking=draft.tracking.get(contact.pk, contact.tracking_allowed),
            answers=answers_now,
            wanted=wanted,
        )
        _check_allowed(contact, changes, source=source)
        reason = justification or Source(source).label
        draft.add(contact, changes, wanted, (wish, effective_at, justification, reason))
        level_after = draft.levels.get(contact.pk, contact.consent_given)
        if any(wanted.values()) or wish.tracking_allowed is True or (wish.level is not None and level_after):
            draft.acted[contact.pk] = max(effective_at, draft.acted.get(contact.pk, effective_at))

    def _fold(self, draft: _GroupDraft, *, source: str) -> None:
        """The whole group holds: fold it into the state."""
        for key, at in draft.stated_at.items():
            self.stated_at[key] = max(at, self.stated_at.get(key, at))
        for pk, at in draft.acted.items():
            self.acted[pk] = max(at, self.acted.get(pk, at))
        for contact, level, tracks, _reason in draft.versions:
            contact.consent_given, contact.tracking_allowed = level, tracks
        self.contact_versions += draft.versions
        for step in draft.planned:
            if step.field == ConsentField.PURPOSE:
                key = (step.contact.pk, step.purpose.pk)
                answer = self.answers.get(key)
                kind = "~"
                if answer is None:
                    answer = self.answers[key] = PurposeConsent(contact=step.contact, purpose=step.purpose)
                    kind = "+"
                answer.granted, answer.changed_at, answer.source = step.new, step.effective_at, source
                self.answer_versions.append((answer, step.new, step.effective_at, step.reason, kind))
        self.steps += draft.planned

    def _answered_at(self, key: tuple[int, int], pending: dict) -> datetime | None:
        """When the answer for (contact, purpose) was last given or restated: stored, by a wish
        applied earlier in this call, or by one before it in this group."""
        answer = self.answers.get(key)
        moments = [pending.get(key), self.stated_at.get(key), None if answer is None else answer.changed_at]
        return max((at for at in moments if at is not None), default=None)

    def _resolve(self, purposes) -> dict[Purpose, bool]:
        if not purposes:
            return {}
        # Names no Purpose carries: the rule check refuses them.
        consent_check(
            purposes={k: v for k, v in purposes.items() if isinstance(k, str) and k not in self.purposes}
        )
        resolved = {}
        for key, granted in purposes.items():
            purpose = self.purposes[key] if isinstance(key, str) else key
            if granted not in (True, False):
                raise ValidationError(
                    _("The answer for %(purpose)s must be yes or no.") % {"purpose": purpose}
                )
            resolved[purpose] = bool(granted)
        return resolved

    def write(self, *, source: str, actor, channel: str, now: datetime) -> None:
        """Write every planned change: the rows, their history, then the sealed records."""
        changed = list({id(c): c for c, *_rest in self.contact_versions}.values())
        for contact in changed:
            contact.updated_at = now
        bulk_set(Contact, changed, ["consent_given", "tracking_allowed", "updated_at"])
        answers = list({id(a): a for a, *_rest in self.answer_versions}.values())
        existing = [a for a in answers if a.pk is not None]
        bulk_insert(PurposeConsent, [a for a in answers if a.pk is None])
        bulk_set(PurposeConsent, existing, ["granted", "changed_at", "source"])
        history_insert(
            Contact,
            [
                ({**tracked_values(c), "consent_given": level, "tracking_allowed": tracks}, "~", reason)
                for c, level, tracks, reason in self.contact_versions
            ],
            user=actor,
            date=now,
        )
        history_insert(
            PurposeConsent,
            [
                ({**tracked_values(a), "granted": granted, "changed_at": at}, kind, reason)
                for a, granted, at, reason, kind in self.answer_versions
            ],
            user=actor,
            date=now,
        )
        if self.steps and (
            self.log_changes
            if self.log_changes is not None
            else ComplianceSettings.switch("log_consent_changes")
        ):
            self._write_records(source=source, actor=actor, channel=channel)
        # A renewal (yes → yes) changes nothing downstream systems act on.
        events_publish(
            [_news(step, source=source) for step in self.steps if step.old != step.new],
            at=now,
            endpoints=self.endpoints,
        )

    def _write_records(self, *, source: str, actor, channel: str) -> None:
        with memo():  # the level wording read once for the whole batch
            for step in self.steps:
                step.record = _record(step, source=source, actor=actor, channel=channel)
        records = [s.record for s in self.steps]
        seal(records)
        bulk_insert(ConsentChange, records)


def _record(step: Step, *, source: str, actor, channel: str) -> ConsentChange:
    """The record of one step. A level change names the wording version of the level it sets (the
    words the person agreed to: GDPR Art. 7(1)), in the language active when it was made."""
    evidence = step.wish.evidence or {}
    if step.field == ConsentField.CONSENT_GIVEN:
        evidence = level_evidence(step.new, evidence)
    return ConsentChange(
        contact=step.contact,
        field=step.field,
        purpose=step.purpose,
        old_value="" if step.old is None else str(step.old),
        new_value=str(step.new),
        actor=actor,
        source=source,
        channel=channel,
        justification=step.justification,
        evidence=evidence,
        effective_at=step.effective_at,
    )


def _news(step: Step, *, source: str) -> News:
    """What downstream systems learn of one changed field (published whether or not records are kept)."""
    return News(
        EventType.CONSENT_CHANGED,
        step.contact.pk,
        {
            "contact": {"id": step.contact.pk},
            "field": step.field,
            "purpose": step.purpose.slug if step.purpose else None,
            "old": step.old,
            "new": step.new,
            "source": source,
            "effective_at": step.effective_at.isoformat(),
        },
    )


def _contacts_locked(ids: list[int]):
    """The contacts with these ids, locked in id order (plain SQL on PostgreSQL: core.bulk)."""
    return dialect(connection).rows_locked(Contact, ids)


def _granted(answer: PurposeConsent | None) -> bool | None:
    return None if answer is None else answer.granted


def plan(wish: ConsentWish, *, level, tracking, answers, wanted) -> list[tuple]:
    """(field, purpose, old, new) for each value of the wish that differs from the current one, and
    each yes it renews."""
    planned: list[tuple] = []
    if wish.level is not None:
        try:
            # True is not "Consent" and 4.9 is not "Marketing": only whole levels, or their digits.
            if isinstance(wish.level, bool) or (
                not isinstance(wish.level, str) and int(wish.level) != wish.level
            ):
                raise ValueError(wish.level)
            new_level = int(ConsentLevel(int(wish.level)))
        except (TypeError, ValueError):
            raise ValidationError(
                {"consent_given": _("“%(value)s” is not a consent level (0–5).") % {"value": wish.level}}
            ) from None
        if new_level != level:
            planned.append((ConsentField.CONSENT_GIVEN, None, level, new_level))
    if wish.tracking_allowed not in (None, True, False):
        # bool("false") is True: a loosely typed answer must not become a grant.
        raise ValidationError({"tracking_allowed": _("The tracking choice must be yes or no.")})
    if wish.tracking_allowed is not None and bool(wish.tracking_allowed) != tracking:
        planned.append((ConsentField.TRACKING, None, tracking, bool(wish.tracking_allowed)))
    for purpose, granted in wanted.items():
        old = answers[purpose]
        if old is None or old != granted or (wish.renew and granted):
            planned.append((ConsentField.PURPOSE, purpose, old, granted))
    return planned


def _check_allowed(contact: Contact, planned: list[tuple], *, source: str) -> None:
    """The consent rules (consent.rules) against what this wish really changes."""
    facts: dict = {"source": source, "is_child": contact.is_child, "purposes": {}}
    for name, purpose, old, new in planned:
        if name == ConsentField.CONSENT_GIVEN:
            facts.update(level=new, level_before=old)
        elif name == ConsentField.TRACKING:
            facts["tracking_allowed"] = new
        else:
            facts["purposes"][purpose] = new
    consent_check(**facts)
