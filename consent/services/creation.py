"""New contacts created with their starting consent, set-based: the bulk twin of contact_create
followed by consent_change, for imports of new people and synthetic data."""

from __future__ import annotations

from datetime import datetime
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from consent.audit_chain import seal
from consent.models import PERSON_SOURCES, ConsentChange, ConsentField, Purpose, PurposeConsent, Source
from consent.rules import consent_check
from consent.services.inputs import (
    check_effective,
    check_evidence,
    check_justification,
    justification_required,
)
from contacts.models import Contact
from core.bulk import bulk_insert, bulk_insert_with_history
from core.levels import level_evidence, memo
from core.models import ComplianceSettings

# The Contact fields the consent rules read, typed before the rules read them.
_CONSENT_FIELDS = [
    Contact._meta.get_field(name) for name in ("is_child", "consent_given", "tracking_allowed")
]


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
    consent_check(source=source)
    justification = check_justification(
        justification=justification, needs_reason=justification_required(source=source, actor=actor)
    )
    check_evidence(evidence or {})
    common = {
        "actor": actor,
        "source": source,
        "justification": justification,
        "evidence": evidence or {},
        "effective_at": check_effective(effective_at),
    }
    log = ComplianceSettings.load().log_consent_changes
    purposes = {p.slug: p for p in Purpose.objects.all()}
    iterator, created = iter(rows), 0
    with transaction.atomic():
        while batch := list(islice(iterator, batch_size)):
            contacts, answers = _batch_validated(
                batch, first_number=created + 1, purposes=purposes, source=source
            )
            if source in PERSON_SOURCES:  # the person's own answers: their last real action
                for contact, wanted in zip(contacts, answers, strict=True):
                    if contact.consent_given or contact.tracking_allowed or any(wanted.values()):
                        contact.last_action_at = common["effective_at"]
            consents = _batch_insert(contacts, answers, purposes=purposes, common=common)
            if log:
                _records_insert(contacts, consents, common=common)
            created += len(contacts)
    return created


def _batch_validated(
    batch: list[dict], *, first_number: int, purposes: dict[str, Purpose], source: str
) -> tuple[list[Contact], list[dict]]:
    """The batch's unsaved contacts and their purpose answers; the first invalid row refuses all."""
    contacts, answers = [], []
    # The guardian checks read each child's guardian: one query per batch, not per child.
    guardians = Contact.objects.in_bulk({row["guardian_id"] for row in batch if row.get("guardian_id")})
    for number, row in enumerate(batch, start=first_number):
        row = dict(row)
        wanted = row.pop("purposes", {}) or {}
        contact = Contact(**row)
        if contact.guardian_id in guardians:
            contact.guardian = guardians[contact.guardian_id]
        try:
            _row_check(contact, wanted, purposes=purposes, source=source)
            contact.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise ValidationError(
                _("Row %(n)s: %(errors)s") % {"n": number, "errors": "; ".join(exc.messages)}
            ) from exc
        contacts.append(contact)
        answers.append(wanted)
    return contacts, answers


def _row_check(contact: Contact, wanted: dict, *, purposes: dict[str, Purpose], source: str) -> None:
    """The consent rules for a new contact: starting from nothing, everything it is given widens."""
    # As full_clean would read them, so "False" is no child (full_clean still refuses bad values).
    typed = {f.name: f.to_python(getattr(contact, f.attname)) for f in _CONSENT_FIELDS}
    consent_check(
        source=source,
        is_child=bool(typed["is_child"]),
        level=typed["consent_given"],
        tracking_allowed=typed["tracking_allowed"],
        purposes={purposes.get(slug, slug): granted for slug, granted in wanted.items()},
    )


def _batch_insert(
    contacts: list[Contact], answers: list[dict], *, purposes: dict[str, Purpose], common: dict
) -> list[PurposeConsent]:
    """Insert the batch's contacts and their purpose answers, each with its history row."""
    actor, source, at = common["actor"], common["source"], common["effective_at"]
    reason = common["justification"] or Source(source).label
    bulk_insert_with_history(Contact, contacts, user=actor, reason=reason, date=at)
    consents = [
        PurposeConsent(contact=c, purpose=purposes[slug], granted=granted, changed_at=at, source=source)
        for c, wanted in zip(contacts, answers, strict=True)
        for slug, granted in wanted.items()
    ]
    bulk_insert_with_history(PurposeConsent, consents, user=actor, reason=reason, date=at)
    return consents


@memo()
def _records_insert(contacts: list[Contact], consents: list[PurposeConsent], *, common: dict) -> None:
    """One sealed change record per starting value, as consent_change would write from nothing."""
    records = []
    for contact in contacts:
        if contact.consent_given:
            records.append(
                ConsentChange(
                    contact=contact,
                    field=ConsentField.CONSENT_GIVEN,
                    old_value="0",
                    new_value=str(contact.consent_given),
                    **{**common, "evidence": level_evidence(contact.consent_given, common["evidence"])},
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
