"""Consent over time: children coming of age, and the daily count of contacts per level."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from consent.audit_chain import seal
from consent.models import ConsentChange, ConsentField, ConsentLevelSnapshot, Source
from contacts.models import Contact
from contacts.services import contact_update
from core.levels import ConsentLevel
from core.models import ComplianceSettings


def consent_level_snapshot_take(*, day=None) -> int:
    """Store today's number of contacts per level (one GROUP BY), replacing a same-day snapshot.

    Feeds the 12-month trend of the compliance dashboard, which history alone cannot give cheaply.
    """
    day = day or timezone.localdate()
    counts = dict(Contact.objects.values_list("consent_given").annotate(n=Count("id")).order_by())
    with transaction.atomic():
        for level in ConsentLevel:
            ConsentLevelSnapshot.objects.update_or_create(
                date=day, level=level, defaults={"contacts": counts.get(level.value, 0)}
            )
    return sum(counts.values())


def children_come_of_age(*, today=None) -> list[Contact]:
    """Clear is_child for children whose birthday puts them at the age of digital consent.

    GDPR Art. 8: from that age a person consents for themselves. Each change is recorded (source
    "system"); their consent stays as the guardian confirmed it until they choose otherwise.
    Returns the contacts that came of age, for the caller to invite them.
    """
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
