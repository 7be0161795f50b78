"""Recording the consent each journey email relied on (journeys.SendConsent)."""

from __future__ import annotations

from datetime import datetime

from consent.held import consent_held_at
from consent.models import PurposeConsent
from journeys.models import Journey, SendConsent, StepRun


def journey_send_purposes(journey: Journey) -> list:
    """The purposes a journey's email needs a yes to: its own and its list's (journey_criteria)."""
    needed = []
    if journey.purpose_id:
        needed.append(journey.purpose)
    if journey.subscription_list_id and journey.subscription_list.purpose_id:
        purpose = journey.subscription_list.purpose
        if all(p.pk != purpose.pk for p in needed):
            needed.append(purpose)
    return needed


def send_consent_record(*, run: StepRun, contact, journey: Journey, at: datetime) -> SendConsent:
    """Record, with the send's claim (call inside its transaction), the consent held at `at`.

    GDPR Art. 7(1): the consent relied on must be demonstrable. Read by consent.held, the same
    function the contact page answers "what did we hold on date X" with, so they cannot disagree.
    A claim taken over is checked again, so its earlier record is replaced.
    """
    needed = journey_send_purposes(journey)
    held = consent_held_at(contact, at, purposes=needed)
    now = dict(
        PurposeConsent.objects.filter(contact=contact, purpose__in=needed).values_list("purpose", "granted")
    )
    agree = (
        held.level == contact.consent_given
        and held.tracking_allowed == contact.tracking_allowed
        and all(a.granted == now.get(a.purpose.pk) for a in held.answers)
    )
    SendConsent.objects.filter(step_run=run).delete()
    record = SendConsent.objects.create(
        step_run=run,
        contact=contact,
        held_at=at,
        needed_level=journey.min_level,
        level=held.level,
        tracking_allowed=held.tracking_allowed,
        records_agree=agree,
        answers=[
            {
                "purpose": a.purpose.pk,
                "name": a.purpose.name,
                "granted": a.granted,
                "record": a.record.pk if a.record else None,
            }
            for a in held.answers
        ],
    )
    record.records.set(held.records)
    return record
