"""The one write path for consent (rule 1 of DESIGN.md): consent_change and its set-based engine.

Nothing else writes Contact.consent_given, Contact.tracking_allowed or PurposeConsent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.audit_chain import storable_problem
from consent.models import PERSON_SOURCES, ConsentChange, Purpose
from consent.rules import consent_check
from consent.services.inputs import justification_required
from consent.services.steps import State
from contacts.activity import last_actions_record
from contacts.models import Contact
from core.bulk import one_round_trip
from core.levels import memo

_CHANNEL_MAX = ConsentChange._meta.get_field("channel").max_length


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
    # A yes restated to renew it (re-permission, issue 21): recorded and its date reset although
    # the value stays, so a retention clock that runs from the answer starts again.
    renew: bool = False


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
    renew: bool = False,
) -> list[ConsentChange]:
    """Change a contact's consent level, purpose answers and/or tracking choice, with its records.

    One record per field that really changes, written in the same transaction as the change
    (GDPR Art. 7(1)), unless ComplianceSettings.log_consent_changes is off. Returns the records
    written; unchanged values write nothing, except a yes restated with `renew` (a renewal, recorded
    yes → yes). Raises ValidationError and saves nothing on bad input.
    """
    wish = ConsentWish(
        contact_id=contact.pk,
        level=level,
        purposes=purposes,
        tracking_allowed=tracking_allowed,
        justification=justification,
        evidence=evidence or {},
        effective_at=effective_at,
        renew=renew,
    )
    applied = consent_changes_apply(groups=[[wish]], source=source, actor=actor, channel=channel)
    (outcome,) = applied.outcomes
    if isinstance(outcome, ValidationError):
        raise outcome
    # Let the caller's instance show what was applied (and when the row was written, so the API
    # answers with the contact as stored without reading it again).
    contact.consent_given, contact.tracking_allowed = applied.state[contact.pk]
    if outcome and (locked := applied.contacts.get(contact.pk)) is not None:
        contact.updated_at = locked.updated_at
    return outcome


@dataclass
class AppliedChanges:
    """What consent_changes_apply did: per group the records it wrote or the error that refused
    it, and each touched contact's (level, tracking choice) afterwards."""

    outcomes: list[list[ConsentChange] | ValidationError]
    state: dict[int, tuple[int, bool]]
    contacts: dict[int, Contact] = field(default_factory=dict)  # the rows as locked and changed


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
    consent_check(source=source)
    _check_channel(channel)
    now = timezone.now()
    needs_reason = justification_required(source=source, actor=actor)
    # One read of the level wording for the whole call (with the locks where it can: State.lock).
    with memo(), transaction.atomic():
        state = State.lock(groups)
        outcomes: list = []
        for group in groups:
            try:
                outcomes.append(state.apply_group(group, source=source, now=now, needs_reason=needs_reason))
            except ValidationError as refusal:
                outcomes.append(refusal)
        with one_round_trip():  # the writes travel with the chain's lock and the records
            if source in PERSON_SOURCES:  # the person's own answer: a real action (not an officer's)
                last_actions_record(moments=state.acted, queued=True)
            state.write(source=source, actor=actor, channel=channel, now=now)
    return AppliedChanges(
        [o if isinstance(o, ValidationError) else [s.record for s in o if s.record] for o in outcomes],
        {pk: (c.consent_given, c.tracking_allowed) for pk, c in state.contacts.items()},
        state.contacts,
    )


def _check_channel(channel: str) -> None:
    if len(channel) > _CHANNEL_MAX:
        raise ValidationError(
            {"channel": _("Use at most %(n)s characters for the channel.") % {"n": _CHANNEL_MAX}}
        )
    if storable_problem(channel):
        raise ValidationError({"channel": _("The channel contains characters that cannot be kept.")})
