"""Purpose answers for many contacts at COPY speed: the set-based twin of consent_changes_apply
for the shape an import has (one purpose answer per row, given for every contact sharing an address).

It writes exactly what consent_changes_apply writes for such groups (the answers, a history row
per changed answer, one sealed change record per change, the outbox events, the people's last
actions) and refuses exactly what it refuses, with the same messages; only the way is set-based:
the answers travel as tuples into a staging table (COPY on PostgreSQL, executemany elsewhere) and
are checked and applied with a handful of statements per batch instead of objects per row. The
chain values are sequential, so they are computed in Python, then the records are bulk-loaded.

A batch that is not of that shape (the same contact and purpose twice: the second answer would have
to see the first) is declined (None) and the caller goes through consent_changes_apply.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.audit_chain import NotStorable, chain_extend, personal_digest_of
from consent.models import PERSON_SOURCES, ConsentChange, ConsentField, Purpose, PurposeConsent, Source
from consent.rules import consent_check, consent_refusal
from consent.services.changes import _check_channel
from consent.services.inputs import (
    check_effective,
    check_evidence,
    check_justification,
    justification_required,
)
from consent.services.steps import _GroupDraft
from contacts.activity import last_actions_record
from contacts.models import Contact
from core.bulk import load_rows, stage_rows, staging_supported
from core.models import ComplianceSettings
from webhooks.models import EventType
from webhooks.outbox import News, events_publish


@dataclass(frozen=True)
class AnswerGroup:
    """One purpose answer for each of `contact_ids` (in that order), applied whole or refused whole."""

    contact_ids: Sequence[int]
    purpose: Purpose
    granted: bool
    effective_at: datetime | None
    justification: str = ""
    evidence: dict | None = None
    keep_answers_after: datetime | None = None


def answers_apply_staged(
    *, groups: Sequence[AnswerGroup], source: str, actor=None, channel: str = ""
) -> list[int | ValidationError] | None:
    """Apply each group's answer, set-based, in one transaction; per group the number of change
    records written (changed answers) or the refusal standing in its place, as consent_changes_apply's
    outcomes. None, having written nothing, when the batch needs consent_changes_apply (a contact and
    purpose answered twice, or a database without UPDATE ... FROM)."""
    pairs = [(pk, g.purpose.pk) for g in groups for pk in g.contact_ids]
    if not staging_supported() or len(set(pairs)) != len(pairs):
        return None
    consent_check(source=source)
    _check_channel(channel)
    now = timezone.now()
    needs_reason = justification_required(source=source, actor=actor)
    with transaction.atomic():
        stage_rows(
            "consent_stage_answers",
            [("n", "integer"), ("contact_id", "bigint"), ("purpose_id", "bigint")],
            [(n, pk, purpose) for n, (pk, purpose) in enumerate(pairs)],
        )
        found, stored = _locked(now)
        batch = _Batch(source=source, channel=channel, now=now, needs_reason=needs_reason)
        outcomes = [batch.plan(group, found, stored) for group in groups]
        batch.write(actor=actor)
    return outcomes


def _locked(now) -> tuple[set[int], dict[tuple[int, int], tuple[bool, datetime]]]:
    """Lock the staged contacts and their answers in id order (as State.lock: a concurrent change
    waits, two batch writers queue instead of deadlocking); the contacts that exist and the answers."""
    contact = connection.ops.quote_name(Contact._meta.db_table)
    answer = connection.ops.quote_name(PurposeConsent._meta.db_table)
    for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id FROM {contact} c WHERE c.id IN (SELECT contact_id FROM consent_stage_answers)"  # noqa: S608
            f" ORDER BY c.id{for_update}"
        )
        found = {pk for (pk,) in cursor.fetchall()}
        cursor.execute(
            f"SELECT pc.contact_id, pc.purpose_id, pc.granted, pc.changed_at FROM {answer} pc"  # noqa: S608
            " JOIN consent_stage_answers s ON s.contact_id = pc.contact_id AND s.purpose_id = pc.purpose_id"
            f" ORDER BY pc.id{for_update}"
        )
        convert = _datetime_converter()
        stored = {(c, p): (bool(g), convert(at)) for c, p, g, at in cursor.fetchall()}
    return found, stored


def _datetime_converter():
    if connection.vendor == "postgresql":
        return lambda value: value
    return lambda value: (
        connection.ops.convert_datetimefield_value(value, None, connection) if value else value
    )


@dataclass
class _Batch:
    source: str
    channel: str
    now: datetime
    needs_reason: bool

    def __post_init__(self):
        # (contact, purpose id, granted, changed_at, history type, reason, group index)
        self.changes: list[tuple] = []
        self.records: list[tuple] = []  # (contact, purpose, old, new, effective_at, group index)
        self.groups: list[tuple[AnswerGroup, str, str]] = []  # (group, justification, personal digest)
        self.acted: dict[int, datetime] = {}
        self.allowed: dict[tuple[int, bool], ValidationError | None] = {}

    def plan(self, group: AnswerGroup, found: set[int], stored: dict) -> int | ValidationError:
        """The group's answers against the locked state, checked wish by wish as State._plan_wish."""
        try:
            return self._plan(group, found, stored)
        except ValidationError as refusal:
            return refusal

    def _plan(self, group: AnswerGroup, found: set[int], stored: dict) -> int:
        purpose, granted = group.purpose, group.granted
        checked = None
        planned, newer, acted = [], [], []
        for pk in group.contact_ids:
            if pk not in found:
                raise ValidationError(_("This contact no longer exists."))
            if checked is None:  # the same for every wish of the group: checked once, in order
                checked = self._row_checks(group)
            effective_at = checked[0]
            old = stored.get((pk, purpose.pk))
            if group.keep_answers_after is not None and old and old[1] > group.keep_answers_after:
                newer.append((purpose, old[1]))
                continue
            if old is None or old[0] != granted:
                if (refusal := self._refusal(purpose, granted)) is not None:
                    raise refusal
                planned.append((pk, None if old is None else old[0]))
            if granted:
                acted.append(pk)
        if newer and len(newer) == len(group.contact_ids):
            raise _GroupDraft(newer=newer).older_refusal()
        if checked is None:
            return 0
        effective_at, justification, digest = checked
        index = len(self.groups)
        self.groups.append((group, justification, digest))
        reason = justification or Source(self.source).label
        for pk, old in planned:
            kind = "+" if old is None else "~"
            self.changes.append((pk, purpose.pk, granted, effective_at, kind, reason))
            self.records.append((pk, purpose.pk, old, granted, effective_at, index))
        for pk in acted:
            self.acted[pk] = max(effective_at, self.acted.get(pk, effective_at))
        return len(planned)

    def _row_checks(self, group: AnswerGroup) -> tuple[datetime, str, str]:
        justification = check_justification(justification=group.justification, needs_reason=self.needs_reason)
        evidence = group.evidence or {}
        try:  # the record's keyed digest of its personal fields; what it cannot digest, it cannot keep
            digest = personal_digest_of(self.channel, justification, evidence)
        except (NotStorable, RecursionError):
            digest = ""
        if not digest or not isinstance(evidence, dict):
            check_evidence(evidence)  # raises with the service's message
        effective_at = check_effective(group.effective_at, self.now)
        return effective_at, justification, digest

    def _refusal(self, purpose: Purpose, granted: bool) -> ValidationError | None:
        key = (purpose.pk, granted)
        if key not in self.allowed:
            self.allowed[key] = consent_refusal(source=self.source, purposes={purpose: granted})
        return self.allowed[key]

    def write(self, *, actor) -> None:
        """The answers, their history, the sealed records, the events and the last actions."""
        actor_id = getattr(actor, "pk", None)
        if self.changes:
            _answers_write(self.changes, source=self.source, actor_id=actor_id, now=self.now)
        if self.records and ComplianceSettings.switch("log_consent_changes"):
            self._records_write(actor_id)
        if self.records and _anyone_listens():
            events_publish([self._news(record) for record in self.records], at=self.now)
        if self.source in PERSON_SOURCES:  # the person's own answer: a real action
            last_actions_record(moments=self.acted)

    def _records_write(self, actor_id: int | None) -> None:
        """One sealed record per change, in the order consent_changes_apply writes them."""
        field = ConsentField.PURPOSE
        evidence_text = [json.dumps(g.evidence or {}, cls=_EVIDENCE_ENCODER) for g, _j, _d in self.groups]
        facts = [
            (
                field,
                purpose,
                "" if old is None else str(old),
                str(new),
                self.source,
                actor_id,
                at,
                self.now,
                pk,
            )
            for pk, purpose, old, new, at, _index in self.records
        ]
        digests = [self.groups[index][2] for *_rest, index in self.records]
        links = chain_extend(facts, digests)
        rows = [
            (
                pk,
                field,
                purpose,
                "" if old is None else str(old),
                str(new),
                actor_id,
                self.source,
                self.channel,
                self.groups[index][1],
                evidence_text[index],
                at,
                self.now,
                self.groups[index][2],
                "",
                prev,
                chain,
                False,
            )
            for (pk, purpose, old, new, at, index), (prev, chain) in zip(self.records, links, strict=True)
        ]
        load_rows(ConsentChange._meta.db_table, _RECORD_COLUMNS, rows)

    def _news(self, record: tuple) -> News:
        pk, _purpose, old, new, at, index = record
        group = self.groups[index][0]
        return News(
            EventType.CONSENT_CHANGED,
            pk,
            {
                "contact": {"id": pk},
                "field": ConsentField.PURPOSE,
                "purpose": group.purpose.slug,
                "old": old,
                "new": new,
                "source": self.source,
                "effective_at": at.isoformat(),
            },
        )


_EVIDENCE_ENCODER = ConsentChange._meta.get_field("evidence").encoder
_RECORD_COLUMNS = [
    "contact_id",
    "field",
    "purpose_id",
    "old_value",
    "new_value",
    "actor_id",
    "source",
    "channel",
    "justification",
    "evidence",
    "effective_at",
    "recorded_at",
    "personal_digest",
    "subject_tag",
    "prev_hash",
    "chain_hash",
    "pseudonymised",
]


def _anyone_listens() -> bool:
    from webhooks.models import Endpoint

    return Endpoint.objects.filter(active=True).exists()


def _answers_write(changes: list[tuple], *, source: str, actor_id: int | None, now: datetime) -> None:
    """The changed answers from a staging table: one UPDATE, one INSERT, one INSERT of history."""
    stage_rows(
        "consent_stage_changes",
        [
            ("n", "integer"),
            ("contact_id", "bigint"),
            ("purpose_id", "bigint"),
            ("granted", "boolean"),
            ("changed_at", "timestamp with time zone"),
            ("kind", "varchar(1)"),
            ("reason", "text"),
        ],
        [(n, *change) for n, change in enumerate(changes)],
    )
    quote = connection.ops.quote_name
    answer = quote(PurposeConsent._meta.db_table)
    history = quote(PurposeConsent.history.model._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        # Only quoted names from the models' meta are spliced in; values go through parameters.
        cursor.execute(
            f"UPDATE {answer} SET granted = s.granted, changed_at = s.changed_at, source = %s"  # noqa: S608
            " FROM consent_stage_changes s WHERE s.kind = '~'"
            f" AND {answer}.contact_id = s.contact_id AND {answer}.purpose_id = s.purpose_id",
            [source],
        )
        cursor.execute(
            f"INSERT INTO {answer} (contact_id, purpose_id, granted, changed_at, source)"  # noqa: S608
            " SELECT s.contact_id, s.purpose_id, s.granted, s.changed_at, %s"
            " FROM consent_stage_changes s WHERE s.kind = '+' ORDER BY s.n",
            [source],
        )
        cursor.execute(
            f"INSERT INTO {history} (id, contact_id, purpose_id, granted, changed_at, source,"  # noqa: S608
            " history_date, history_user_id, history_change_reason, history_type)"
            " SELECT pc.id, s.contact_id, s.purpose_id, s.granted, s.changed_at, %s, %s, %s, s.reason, s.kind"
            f" FROM consent_stage_changes s JOIN {answer} pc"
            " ON pc.contact_id = s.contact_id AND pc.purpose_id = s.purpose_id ORDER BY s.n",
            [source, at, actor_id],
        )
