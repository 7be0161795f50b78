"""The one write path for consent (rule 1 of DESIGN.md).

Nothing else writes Contact.consent_given, Contact.tracking_allowed or PurposeConsent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.audit_chain import seal, storable_problem
from consent.models import ConsentChange, ConsentField, Purpose, PurposeConsent, Source
from contacts.models import Contact
from core.bulk import bulk_insert, bulk_set, history_insert, one_round_trip, tracked_values
from core.levels import CHILD_MAXIMUM, ConsentLevel
from core.models import ComplianceSettings

# A raise from these sources is only a request: it takes effect through double opt-in.
_NO_DIRECT_RAISE = {Source.SUBSCRIPTION_CENTER, Source.JOURNEY}


@dataclass(frozen=True)
class ConsentWish:
    """One wanted change of one contact's consent: what consent_changes_apply works on."""

    contact_id: int
    level: int | None = None
    purposes: Mapping[Purpose | str, bool] | None = None
    tracking_allowed: bool | None = None
    justification: str = ""
    evidence: dict = field(default_factory=dict)
    effective_at: datetime | None = None
    # Answers given after this moment stay: the wish then leaves that contact alone (an old export
    # must not overwrite a newer choice), and a group left with nothing to do is refused as older.
    keep_answers_after: datetime | None = None


def consent_change(
    *,
    contact: Contact,
    source: str,
    level: int | None = None,
    purposes: Mapping[Purpose | str, bool] | None = None,
    tracking_allowed: bool | None = None,
    actor=None,
    channel: str = "",
    justification: str = "",
    evidence: dict | None = None,
    effective_at: datetime | None = None,
) -> list[ConsentChange]:
    """Change a contact's consent level, purpose answers and/or tracking choice, with its records.

    One record per field that really changes, written in the same transaction as the change
    (GDPR Art. 7(1)), unless ComplianceSettings.log_consent_changes is off. Returns the records
    written; unchanged values write nothing. Raises ValidationError and saves nothing on bad input.
    """
    wish = ConsentWish(
        contact_id=contact.pk,
        level=level,
        purposes=purposes,
        tracking_allowed=tracking_allowed,
        justification=justification,
        evidence=evidence or {},
        effective_at=effective_at,
    )
    applied = consent_changes_apply(groups=[[wish]], source=source, actor=actor, channel=channel)
    (outcome,) = applied.outcomes
    if isinstance(outcome, ValidationError):
        raise outcome
    # Let the caller's instance show what was applied.
    contact.consent_given, contact.tracking_allowed = applied.state[contact.pk]
    return outcome


@dataclass
class AppliedChanges:
    """What consent_changes_apply did: per group the records it wrote or the error that refused
    it, and each touched contact's (level, tracking choice) afterwards."""

    outcomes: list[list[ConsentChange] | ValidationError]
    state: dict[int, tuple[int, bool]]


def consent_changes_apply(
    *, groups: Sequence[Sequence[ConsentWish]], source: str, actor=None, channel: str = ""
) -> AppliedChanges:
    """Apply groups of wishes in order, set-based, in one transaction: the engine of consent_change.

    Each group applies whole or is refused whole (its ValidationError stands in its place) while
    the others go on, and each wish sees what the wishes before it applied. Writes what one
    consent_change per wish would (the changed rows, a history row per changed row and wish, one
    sealed record per changed field: GDPR Art. 7(1)) in a few statements per batch of contacts
    instead of several per change, so imports scale.
    """
    _check_known(source)
    if len(channel) > _CHANNEL_MAX:
        raise ValidationError(
            {"channel": _("Use at most %(n)s characters for the channel.") % {"n": _CHANNEL_MAX}}
        )
    if storable_problem(channel):
        raise ValidationError({"channel": _("The channel contains characters that cannot be kept.")})
    now = timezone.now()
    needs_reason = justification_required(source=source, actor=actor)
    with transaction.atomic():
        state = _State.lock(groups)
        outcomes: list = []
        for group in groups:
            try:
                outcomes.append(state.apply_group(group, source=source, now=now, needs_reason=needs_reason))
            except ValidationError as refusal:
                outcomes.append(refusal)
        with one_round_trip():  # the writes travel with the chain's lock and the records
            state.write(source=source, actor=actor, channel=channel, now=now)
    return AppliedChanges(
        [o if isinstance(o, ValidationError) else [s.record for s in o if s.record] for o in outcomes],
        {pk: (c.consent_given, c.tracking_allowed) for pk, c in state.contacts.items()},
    )


_CHANNEL_MAX = ConsentChange._meta.get_field("channel").max_length
_IN_BATCH = 2000  # ids per IN (...) list, well inside every backend's parameter limit


@dataclass(eq=False)
class _Step:
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


class _State:
    """The rows one consent_changes_apply call locked, changed in memory group by group and
    written together at the end."""

    def __init__(self, contacts: dict[int, Contact], answers: dict, purposes: dict[str, Purpose]):
        self.contacts, self.answers, self.purposes = contacts, answers, purposes
        self.steps: list[_Step] = []
        # History in order: per wish that changed a contact row (contact, level, tracking, reason),
        # per changed answer (answer, granted, date, reason, history type).
        self.contact_versions: list[tuple[Contact, int, bool, str]] = []
        self.answer_versions: list[tuple[PurposeConsent, bool, datetime, str, str]] = []
        # When each (contact, purpose) answer was last stated by a wish applied in this call, even
        # one that changed nothing: a newer row restating an answer still outdates an older row.
        self.stated_at: dict[tuple[int, int], datetime] = {}

    @classmethod
    def lock(cls, groups) -> _State:
        wishes = [wish for group in groups for wish in group]
        ids = sorted({w.contact_id for w in wishes})
        keys = {key for w in wishes for key in (w.purposes or {})}
        slugs = {key for key in keys if isinstance(key, str)}
        purposes = {p.slug: p for p in Purpose.objects.filter(slug__in=slugs)} if slugs else {}
        purpose_ids = {p.pk for p in purposes.values()} | {k.pk for k in keys if isinstance(k, Purpose)}
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

    def apply_group(
        self, group: Sequence[ConsentWish], *, source: str, now: datetime, needs_reason: bool
    ) -> list[_Step]:
        """Check each wish of the group against the state so far; fold in all of them, or none."""
        levels: dict[int, int] = {}
        tracking: dict[int, bool] = {}
        granted: dict[tuple[int, int], bool | None] = {}
        stated_at: dict[tuple[int, int], datetime] = {}
        planned: list[_Step] = []
        versions = []
        newer: list[tuple[Purpose, datetime]] = []  # answers that kept a wish from applying
        skipped = 0
        for wish in group:
            contact = self.contacts.get(wish.contact_id)
            if contact is None:
                raise ValidationError(_("This contact no longer exists."))
            justification = _check_source(
                source=source, justification=wish.justification, needs_reason=needs_reason
            )
            _check_evidence(wish.evidence or {})
            effective_at = _check_effective(wish.effective_at, now)
            wanted = self._resolve(wish.purposes)
            if wish.keep_answers_after is not None:
                kept = [
                    (purpose, at)
                    for purpose in wanted
                    if (at := self._answered_at((contact.pk, purpose.pk), stated_at))
                    and at > wish.keep_answers_after
                ]
                if kept:
                    newer += kept
                    skipped += 1
                    continue
            level_now = levels.get(contact.pk, contact.consent_given)
            tracking_now = tracking.get(contact.pk, contact.tracking_allowed)
            answers_now = {}
            for purpose in wanted:
                key = (contact.pk, purpose.pk)
                answers_now[purpose] = granted[key] if key in granted else _granted(self.answers.get(key))
            changes = _plan(wish, level=level_now, tracking=tracking_now, answers=answers_now, wanted=wanted)
            _check_allowed(contact, changes, source=source)
            reason = justification or Source(source).label
            for name, purpose, old, new in changes:
                planned.append(
                    _Step(contact, name, purpose, old, new, wish, effective_at, justification, reason)
                )
                if name == ConsentField.CONSENT_GIVEN:
                    levels[contact.pk] = new
                elif name == ConsentField.TRACKING:
                    tracking[contact.pk] = new
                else:
                    granted[(contact.pk, purpose.pk)] = new
            for purpose in wanted:
                key = (contact.pk, purpose.pk)
                stated_at[key] = max(effective_at, stated_at.get(key, effective_at))
            if any(name != ConsentField.PURPOSE for name, *_rest in changes):
                level_then = levels.get(contact.pk, contact.consent_given)
                versions.append(
                    (contact, level_then, tracking.get(contact.pk, contact.tracking_allowed), reason)
                )
        if skipped and skipped == len(group):  # every wish met a newer answer
            purpose, at = max(newer, key=lambda kept: kept[1])
            raise ValidationError(
                _("A newer answer for “%(purpose)s” exists (given %(date)s); this change is older.")
                % {"purpose": purpose.name, "date": timezone.localtime(at).strftime("%Y-%m-%d %H:%M")},
                code="older",
            )
        # The whole group holds: fold it into the state.
        for key, at in stated_at.items():
            self.stated_at[key] = max(at, self.stated_at.get(key, at))
        for contact, level, tracks, _reason in versions:
            contact.consent_given, contact.tracking_allowed = level, tracks
        self.contact_versions += versions
        for step in planned:
            if step.field == ConsentField.PURPOSE:
                key = (step.contact.pk, step.purpose.pk)
                answer = self.answers.get(key)
                kind = "~"
                if answer is None:
                    answer = self.answers[key] = PurposeConsent(contact=step.contact, purpose=step.purpose)
                    kind = "+"
                answer.granted, answer.changed_at, answer.source = step.new, step.effective_at, source
                self.answer_versions.append((answer, step.new, step.effective_at, step.reason, kind))
        self.steps += planned
        return planned

    def _answered_at(self, key: tuple[int, int], pending: dict) -> datetime | None:
        """When the answer for (contact, purpose) was last given or restated: stored, by a wish
        applied earlier in this call, or by one before it in this group."""
        answer = self.answers.get(key)
        moments = [pending.get(key), self.stated_at.get(key), None if answer is None else answer.changed_at]
        return max((at for at in moments if at is not None), default=None)

    def _resolve(self, purposes) -> dict[Purpose, bool]:
        if not purposes:
            return {}
        unknown = sorted(key for key in purposes if isinstance(key, str) and key not in self.purposes)
        if unknown:
            raise ValidationError(_("Unknown purpose: %(names)s.") % {"names": ", ".join(unknown)})
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
        if not self.steps or not ComplianceSettings.switch("log_consent_changes"):
            return
        for step in self.steps:
            step.record = ConsentChange(
                contact=step.contact,
                field=step.field,
                purpose=step.purpose,
                old_value="" if step.old is None else str(step.old),
                new_value=str(step.new),
                actor=actor,
                source=source,
                channel=channel,
                justification=step.justification,
                evidence=step.wish.evidence or {},
                effective_at=step.effective_at,
            )
        records = [s.record for s in self.steps]
        seal(records)
        bulk_insert(ConsentChange, records)


def _contacts_locked(ids: list[int]):
    """The contacts with these ids, locked in id order. On PostgreSQL as plain SQL: for one change
    the ORM's query compiler cost more than the statement (0.35 ms of a 4.5 ms change)."""
    if connection.vendor != "postgresql":
        return Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    table = connection.ops.quote_name(Contact._meta.db_table)
    pk = connection.ops.quote_name(Contact._meta.pk.column)
    return Contact.objects.raw(
        f"SELECT * FROM {table} WHERE {pk} = ANY(%s) ORDER BY {pk} FOR UPDATE",  # noqa: S608
        [ids],
    )


def _granted(answer: PurposeConsent | None) -> bool | None:
    return None if answer is None else answer.granted


def _check_known(source: str) -> None:
    if source not in Source.values:
        raise ValidationError(_("Unknown consent source “%(source)s”."), params={"source": source})


RELAY_PERMISSION = "consent.relay_consent"


def justification_required(*, source: str, actor=None) -> bool:
    """Whether a consent change must say why: one made by hand by staff must, in every door.

    Every change in the admin; through the API, every change by a staff account (each key has
    one) except one trusted to relay the person's own answers with its evidence (RELAY_PERMISSION,
    a privacy officer's key for the web shop): a Marketer's key is a person changing consent by
    hand, and the API must not be the way around the admin's rule (GDPR Art. 7(1)).
    """
    if source == Source.ADMIN:
        return True
    if source == Source.API:
        return actor is not None and not actor.has_perm(RELAY_PERMISSION)
    return False


def _check_evidence(evidence) -> None:
    """Evidence is sealed as the database gives it back; refuse what no database gives back."""
    problem = storable_problem(evidence)
    if problem or not isinstance(evidence, dict):
        raise ValidationError(
            {
                "evidence": _("The evidence cannot be kept as it is (%(problem)s).")
                % {"problem": problem or "not a JSON object"}
            }
        )


def _check_source(*, source: str, justification: str, needs_reason: bool) -> str:
    _check_known(source)
    justification = (justification or "").strip()
    if storable_problem(justification):
        raise ValidationError(
            {"justification": _("The justification contains characters that cannot be kept.")}
        )
    if needs_reason and not justification:
        raise ValidationError(
            {"justification": _("Say why you change this consent by hand, e.g. “phone call on 12 May”.")}
        )
    return justification


def _check_effective(effective_at: datetime | None, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    if effective_at is not None and effective_at > now:
        raise ValidationError(_("A consent change cannot take effect in the future."))
    return effective_at or now


def _plan(wish: ConsentWish, *, level, tracking, answers, wanted) -> list[tuple]:
    """(field, purpose, old, new) for each value of the wish that differs from the current one."""
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
        if old is None or old != granted:
            planned.append((ConsentField.PURPOSE, purpose, old, granted))
    return planned


def _check_allowed(contact: Contact, planned: list[tuple], *, source: str) -> None:
    for name, purpose, old, new in planned:
        if name == ConsentField.CONSENT_GIVEN and contact.is_child and new > CHILD_MAXIMUM:
            raise ValidationError(
                {"consent_given": _("A child can never be given Profiling consent (GDPR Art. 8).")}
            )
        widens = (name == ConsentField.CONSENT_GIVEN and new > old) or (
            name != ConsentField.CONSENT_GIVEN and new is True and old is not True
        )
        if widens and source in _NO_DIRECT_RAISE:
            raise ValidationError(
                _("A raise of consent from the %(source)s takes effect only through double opt-in.")
                % {"source": Source(source).label}
            )
        if name == ConsentField.PURPOSE and not purpose.active and new is True:
            raise ValidationError(_("The purpose “%(purpose)s” is retired.") % {"purpose": purpose})


def consent_level_snapshot_take(*, day=None) -> int:
    """Store today's number of contacts per level (one GROUP BY), replacing a same-day snapshot.

    Feeds the 12-month trend of the compliance dashboard, which history alone cannot give cheaply.
    """
    from django.db.models import Count

    from consent.models import ConsentLevelSnapshot

    day = day or timezone.localdate()
    counts = dict(Contact.objects.values_list("consent_given").annotate(n=Count("id")).order_by())
    with transaction.atomic():
        for level in ConsentLevel:
            ConsentLevelSnapshot.objects.update_or_create(
                date=day, level=level, defaults={"contacts": counts.get(level.value, 0)}
            )
    return sum(counts.values())


def contacts_create_with_consent(
    *,
    rows,
    source: str,
    actor=None,
    justification: str = "",
    evidence: dict | None = None,
    effective_at: datetime | None = None,
    batch_size: int = 5000,
) -> int:
    """Create many new contacts with their starting consent, set-based, in one transaction.

    The bulk twin of contact_create + consent_change for imports of new people and synthetic
    data: every contact is validated, and gets its history row and (when logging is on) one
    change record per consent value, exactly as the one-by-one path would write them.
    `rows` is an iterable of dicts of Contact fields plus optional "purposes": {slug: bool}.
    Returns how many contacts were created; on any invalid row nothing is created.
    """
    from itertools import islice

    from core.bulk import bulk_insert_with_history

    justification = _check_source(
        source=source,
        justification=justification,
        needs_reason=justification_required(source=source, actor=actor),
    )
    _check_evidence(evidence or {})
    effective_at = _check_effective(effective_at)
    log = ComplianceSettings.load().log_consent_changes
    purposes = {p.slug: p for p in Purpose.objects.all()}
    reason = justification or Source(source).label
    iterator, created = iter(rows), 0
    with transaction.atomic():
        while batch := list(islice(iterator, batch_size)):
            contacts, answers = [], []
            # The guardian checks read each child's guardian: one query per batch, not per child.
            guardians = Contact.objects.in_bulk(
                {row["guardian_id"] for row in batch if row.get("guardian_id")}
            )
            for number, row in enumerate(batch, start=created + 1):
                row = dict(row)
                wanted = row.pop("purposes", {}) or {}
                contact = Contact(**row)
                if contact.guardian_id in guardians:
                    contact.guardian = guardians[contact.guardian_id]
                try:
                    widens = contact.consent_given or contact.tracking_allowed or any(wanted.values())
                    if widens and source in _NO_DIRECT_RAISE:
                        raise ValidationError(
                            _("Consent from this source takes effect only through double opt-in.")
                        )
                    contact.full_clean(validate_unique=False, validate_constraints=False)
                    unknown = set(wanted) - set(purposes)
                    if unknown:
                        raise ValidationError(
                            _("Unknown purpose: %(names)s.") % {"names": ", ".join(sorted(unknown))}
                        )
                except ValidationError as exc:
                    raise ValidationError(
                        _("Row %(n)s: %(errors)s") % {"n": number, "errors": "; ".join(exc.messages)}
                    ) from exc
                contacts.append(contact)
                answers.append(wanted)
            bulk_insert_with_history(Contact, contacts, user=actor, reason=reason, date=effective_at)
            consents = [
                PurposeConsent(
                    contact=c, purpose=purposes[slug], granted=granted, changed_at=effective_at, source=source
                )
                for c, wanted in zip(contacts, answers, strict=True)
                for slug, granted in wanted.items()
            ]
            bulk_insert_with_history(PurposeConsent, consents, user=actor, reason=reason, date=effective_at)
            if log:
                records = []
                common = {
                    "actor": actor,
                    "source": source,
                    "justification": justification,
                    "evidence": evidence or {},
                    "effective_at": effective_at,
                }
                for contact in contacts:
                    if contact.consent_given:
                        records.append(
                            ConsentChange(
                                contact=contact,
                                field=ConsentField.CONSENT_GIVEN,
                                old_value="0",
                                new_value=str(contact.consent_given),
                                **common,
                            )
                        )
                    if contact.tracking_allowed:
                        records.append(
                            ConsentChange(
                                contact=contact,
                                field=ConsentField.TRACKING,
                                old_value="False",
                                new_value="True",
                                **common,
                            )
                        )
                records += [
                    ConsentChange(
                        contact=pc.contact,
                        field=ConsentField.PURPOSE,
                        purpose=pc.purpose,
                        old_value="",
                        new_value=str(pc.granted),
                        **common,
                    )
                    for pc in consents
                ]
                seal(records)
                bulk_insert(ConsentChange, records)
            created += len(contacts)
    return created


def children_come_of_age(*, today=None) -> list[Contact]:
    """Clear is_child for children whose birthday puts them at the age of digital consent.

    GDPR Art. 8: from that age a person consents for themselves. Each change is recorded (source
    "system"); their consent stays as the guardian confirmed it until they choose otherwise.
    Returns the contacts that came of age, for the caller to invite them.
    """
    from contacts.services import contact_update

    today = today or timezone.localdate()
    age = ComplianceSettings.load().age_of_consent
    try:
        cutoff = today.replace(year=today.year - age)
    except ValueError:  # 29 February
        cutoff = today.replace(year=today.year - age, day=28)
    grown = []
    for contact in Contact.objects.filter(is_child=True, date_of_birth__lte=cutoff).iterator():
        with transaction.atomic():
            locked = Contact.objects.select_for_update().get(pk=contact.pk)
            if not locked.is_child:
                continue  # another run got here first
            contact_update(contact=locked, is_child=False, reason=f"reached the age of consent ({age})")
            if ComplianceSettings.load().log_consent_changes:
                record = ConsentChange(
                    contact=locked,
                    field=ConsentField.IS_CHILD,
                    old_value="True",
                    new_value="False",
                    source=Source.SYSTEM,
                    justification=f"Reached the age of digital consent ({age}) on their birthday.",
                    evidence={"date_of_birth": str(locked.date_of_birth), "age_of_consent": age},
                )
                seal([record])
                record.full_clean()
                record.save()
            grown.append(locked)
    return grown


def consent_changes_pseudonymise(records) -> int:
    """Strip whom a set of consent change records are about, and their evidence, for an erasure.

    GDPR Art. 17(3)(e) and 7(1): the records stay as proof of what was consented and when, but no
    longer lead to the person. The chain still verifies: the personal fields entered it only
    through personal_digest, which is kept, and the contact through a keyed hash of its id, which
    is kept in subject_tag (consent.audit_chain); without the key nobody can write that mark, so a
    pseudonymisation made by SQL is found. The one rewrite of these append-only rows the database
    allows (its triggers accept exactly this shape), hence the bypass of ConsentChangeQuerySet.update.
    """
    from django.db.models import Case, Value, When

    from consent.audit_chain import subject_hash

    records = records.filter(pseudonymised=False, contact__isnull=False)
    contact_ids = sorted(set(records.values_list("contact_id", flat=True)))
    if not contact_ids:
        return 0
    # One statement: the CASE reads each row's contact before the same UPDATE blanks it.
    tag = Case(*(When(contact_id=pk, then=Value(subject_hash(pk))) for pk in contact_ids), default=Value(""))
    return QuerySet.update(
        records,
        subject_tag=tag,
        contact=None,
        justification="",
        evidence={},
        channel="",
        pseudonymised=True,
    )
