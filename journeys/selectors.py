"""Read queries of journeys. Who may be processed is always consent.selectors.eligible_contacts."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, QuerySet

from consent.selectors import eligible_contacts
from contacts.models import Contact
from core.db_router import replica_reads
from core.levels import ConsentLevel
from journeys.models import Enrolment, Journey, Segment, SendConsent
from journeys.rules import rules_to_q


def segment_contacts(segment: Segment) -> QuerySet[Contact]:
    """Everyone the segment's rules describe, before any consent check: only ever passed on as
    `queryset=` to eligible_contacts, never processed as it is."""
    return Contact.objects.filter(rules_to_q(segment.rules))


def segment_members(
    *, segment: Segment, min_level: int = ConsentLevel.NONE, purpose=None, subscription_list=None
) -> QuerySet[Contact]:
    """The segment's members who may be processed at `min_level` (rule 2 of DESIGN.md), one query.

    At level 0 this still leaves out restricted contacts (GDPR Art. 18).
    """
    return eligible_contacts(
        min_level=min_level,
        purpose=purpose,
        subscription_list=subscription_list,
        queryset=segment_contacts(segment),
    )


def journey_criteria(journey: Journey) -> dict:
    """The journey's consent requirements, as eligible_contacts keywords."""
    return {
        "min_level": journey.min_level,
        "purpose": journey.purpose if journey.purpose_id else None,
        "subscription_list": journey.subscription_list if journey.subscription_list_id else None,
        "channel": "email",  # a journey mails: an address blocked by bounces leaves it
    }


def journey_audience(journey: Journey) -> QuerySet[Contact]:
    """Who the journey may enrol now: its segment's members meeting its minimum consent, with a
    yes to its purpose and not unsubscribed from its list (one query)."""
    return eligible_contacts(queryset=segment_contacts(journey.segment), **journey_criteria(journey))


def journey_may_process(journey: Journey, contact_id: int | None) -> bool:
    """Before every step: may the journey still process this contact? Checked in the database.

    Leaving the segment is not a reason to stop; losing consent, restriction or an unsubscribe is.
    """
    if contact_id is None:
        return False
    return eligible_contacts(
        queryset=Contact.objects.filter(pk=contact_id), **journey_criteria(journey)
    ).exists()


def journey_reach(journey: Journey) -> dict:
    """How many the journey reaches: who would be enrolled now (its audience not yet enrolled,
    through the eligibility selector) and who is in it now. Counted up to the admin's cap + 1."""
    cap = settings.ADMIN_LIST_COUNT_CAP
    enrolled = Enrolment.objects.filter(journey=journey, contact=OuterRef("pk"))
    with replica_reads():  # counts shown to staff; enrolment itself reads the primary
        to_enrol = journey_audience(journey).filter(~Exists(enrolled)).order_by()[: cap + 1].count()
        active = journey.enrolments.filter(status=Enrolment.Status.ACTIVE).order_by()[: cap + 1].count()
    return {"to_enrol": to_enrol, "in_journey": active, "cap": cap}


def journeys_sends_proved(journeys) -> dict[int, int]:
    """How many emails of each of these journeys recorded the consent they relied on (only those
    with any): the proof that keeps a journey from being deleted (GDPR Art. 7(1))."""
    counts = (
        SendConsent.objects.filter(step_run__enrolment__journey__in=[j.pk for j in journeys])
        .values("step_run__enrolment__journey")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["step_run__enrolment__journey"]: row["n"] for row in counts}
