"""The one write path for consent (rule 1 of DESIGN.md).

Nothing else writes Contact.consent_given, Contact.tracking_allowed or PurposeConsent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.audit_chain import seal
from consent.levels import CHILD_MAXIMUM, ConsentLevel
from consent.models import ComplianceSettings, ConsentChange, ConsentField, Purpose, PurposeConsent, Source
from contacts.models import Contact

# A raise from these sources is only a request: it takes effect through double opt-in.
_NO_DIRECT_RAISE = {Source.SUBSCRIPTION_CENTER, Source.JOURNEY}


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
    justification = _check_source(source=source, justification=justification)
    effective_at = _check_effective(effective_at)

    with transaction.atomic():
        # Lock the row: two changes to one contact at once must see each other's result, so both
        # records chain old → new without a lost update.
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        planned = _plan(locked, level=level, tracking_allowed=tracking_allowed, purposes=purposes)
        _check_allowed(locked, planned, source=source)
        records = _apply(
            locked,
            planned,
            source=source,
            actor=actor,
            channel=channel,
            justification=justification,
            evidence=evidence or {},
            effective_at=effective_at,
        )
    # Let the caller's instance show what was applied.
    contact.consent_given = locked.consent_given
    contact.tracking_allowed = locked.tracking_allowed
    return records


def _check_source(*, source: str, justification: str) -> str:
    if source not in Source.values:
        raise ValidationError(_("Unknown consent source “%(source)s”."), params={"source": source})
    justification = (justification or "").strip()
    if source == Source.ADMIN and not justification:
        raise ValidationError(
            {"justification": _("Say why you change this consent by hand, e.g. “phone call on 12 May”.")}
        )
    return justification


def _check_effective(effective_at: datetime | None) -> datetime:
    now = timezone.now()
    if effective_at is not None and effective_at > now:
        raise ValidationError(_("A consent change cannot take effect in the future."))
    return effective_at or now


def _plan(contact: Contact, *, level, tracking_allowed, purposes) -> list[tuple]:
    """(field, purpose, old, new) for each value that differs from what the contact holds now."""
    planned: list[tuple] = []
    if level is not None:
        try:
            # True is not "Consent" and 4.9 is not "Marketing": only whole levels, or their digits.
            if isinstance(level, bool) or (not isinstance(level, str) and int(level) != level):
                raise ValueError(level)
            level = ConsentLevel(int(level))
        except (TypeError, ValueError):
            raise ValidationError(
                {"consent_given": _("“%(value)s” is not a consent level (0–5).") % {"value": level}}
            ) from None
        if level != contact.consent_given:
            planned.append((ConsentField.CONSENT_GIVEN, None, contact.consent_given, int(level)))
    if tracking_allowed not in (None, True, False):
        # bool("false") is True: a loosely typed answer must not become a grant.
        raise ValidationError({"tracking_allowed": _("The tracking choice must be yes or no.")})
    if tracking_allowed is not None and bool(tracking_allowed) != contact.tracking_allowed:
        planned.append((ConsentField.TRACKING, None, contact.tracking_allowed, bool(tracking_allowed)))
    if purposes:
        resolved = _resolve_purposes(purposes)
        current = {
            pc.purpose_id: pc.granted
            for pc in PurposeConsent.objects.select_for_update().filter(contact=contact, purpose__in=resolved)
        }
        for purpose, granted in resolved.items():
            old = current.get(purpose.pk)
            if old is None or old != bool(granted):
                planned.append((ConsentField.PURPOSE, purpose, old, bool(granted)))
    return planned


def _resolve_purposes(purposes: Mapping[Purpose | str, bool]) -> dict[Purpose, bool]:
    slugs = [key for key in purposes if isinstance(key, str)]
    by_slug = {p.slug: p for p in Purpose.objects.filter(slug__in=slugs)}
    unknown = sorted(set(slugs) - set(by_slug))
    if unknown:
        raise ValidationError(_("Unknown purpose: %(names)s.") % {"names": ", ".join(unknown)})
    resolved = {}
    for key, granted in purposes.items():
        purpose = by_slug[key] if isinstance(key, str) else key
        if granted not in (True, False):
            raise ValidationError(_("The answer for %(purpose)s must be yes or no.") % {"purpose": purpose})
        resolved[purpose] = granted
    return resolved


def _check_allowed(contact: Contact, planned: list[tuple], *, source: str) -> None:
    for field, purpose, old, new in planned:
        if field == ConsentField.CONSENT_GIVEN and contact.is_child and new > CHILD_MAXIMUM:
            raise ValidationError(
                {"consent_given": _("A child can never be given Profiling consent (GDPR Art. 8).")}
            )
        widens = (field == ConsentField.CONSENT_GIVEN and new > old) or (
            field != ConsentField.CONSENT_GIVEN and new is True and old is not True
        )
        if widens and source in _NO_DIRECT_RAISE:
            raise ValidationError(
                _("A raise of consent from the %(source)s takes effect only through double opt-in.")
                % {"source": Source(source).label}
            )
        if field == ConsentField.PURPOSE and not purpose.active and new is True:
            raise ValidationError(_("The purpose “%(purpose)s” is retired.") % {"purpose": purpose})


def _apply(contact: Contact, planned, *, source, actor, channel, justification, evidence, effective_at):
    if not planned:
        return []
    contact_fields = {}
    for field, purpose, _old, new in planned:
        if field == ConsentField.PURPOSE:
            pc = PurposeConsent.objects.filter(contact=contact, purpose=purpose).first()
            pc = pc or PurposeConsent(contact=contact, purpose=purpose)
            pc.granted, pc.changed_at, pc.source = new, effective_at, source
            pc._history_user = actor
            pc._change_reason = justification or Source(source).label
            pc.full_clean(validate_unique=False)  # the row lock above and the constraint guard it
            pc.save()
        else:
            contact_fields[field] = new
    if contact_fields:
        for name, value in contact_fields.items():
            setattr(contact, name, value)
        contact.full_clean(validate_unique=False)
        contact._history_user = actor
        contact._change_reason = justification or Source(source).label
        contact.save(update_fields=[*contact_fields, "updated_at"])

    if not ComplianceSettings.load().log_consent_changes:
        return []
    records = [
        ConsentChange(
            contact=contact,
            field=field,
            purpose=purpose,
            old_value="" if old is None else str(old),
            new_value=str(new),
            actor=actor,
            source=source,
            channel=channel,
            justification=justification,
            evidence=evidence,
            effective_at=effective_at,
        )
        for field, purpose, old, new in planned
    ]
    seal(records)
    for record in records:
        record.full_clean()
    return ConsentChange.objects.bulk_create(records)


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

    from config.bulk import bulk_insert, bulk_insert_with_history

    justification = _check_source(source=source, justification=justification)
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
    through personal_digest, which is kept (consent.audit_chain). The one sanctioned rewrite of
    these append-only rows, hence the bypass of ConsentChangeQuerySet.update.
    """
    return QuerySet.update(
        records, contact=None, justification="", evidence={}, channel="", pseudonymised=True
    )
