"""Consent's services, by sub-domain; callers import from here (`from consent.services import ...`).

changes: the one write path (consent_change and its set-based engine consent_changes_apply),
and answers (its staged twin for many purpose answers at COPY speed, as imports bring them),
with steps (its plan and writes) and inputs (justification, evidence, effective date); the
consent rules themselves are in consent.rules. creation: new contacts with their starting consent.
lifecycle: children coming of age, level snapshots. pseudonymise: records after an erasure.
"""

from consent.services.answers import AnswerGroup, answers_apply_staged
from consent.services.changes import AppliedChanges, ConsentWish, consent_change, consent_changes_apply
from consent.services.creation import contacts_create_with_consent
from consent.services.inputs import RELAY_PERMISSION, justification_required
from consent.services.lifecycle import children_come_of_age, consent_level_snapshot_take
from consent.services.pseudonymise import consent_changes_pseudonymise

__all__ = [
    "RELAY_PERMISSION",
    "AnswerGroup",
    "AppliedChanges",
    "ConsentWish",
    "answers_apply_staged",
    "children_come_of_age",
    "consent_change",
    "consent_changes_apply",
    "consent_changes_pseudonymise",
    "consent_level_snapshot_take",
    "contacts_create_with_consent",
    "justification_required",
]
