"""Re-permission before consent lapses (issue 21, scope 3; GDPR Art. 5(1)(e) and 7(1)).

REPERMISSION_DAYS_BEFORE_LAPSE days before a contact's consent for a purpose or list lapses
(consent.retention), the contact enters the re-permission journeys: ordinary journeys whose
segment has the rule {"renewal": "due"}, so the eligibility selector chooses who is mailed, as for
every journey (a restricted contact never is). Their email's {{ renew_url }} is the confirmation
link of a double opt-in request (subscriptions.services.consent_request_create) for exactly the
consents that lapse soon; confirming it renews them through the double opt-in's own confirmation,
which records the renewal and starts their clocks again (the answer's date and the person's last
action). No answer: the consent lapses (consent.lapse).

Once per lapse cycle: a contact is enrolled once per journey; when the contact is due again and
no renewal request was made within the re-permission period, their finished enrolment belongs to
an earlier cycle and is detached (repermission_cycles_reopen), so the next cycle asks again and
this one never twice.

Children are not in these journeys: as for every double opt-in, their guardian confirms, so the
guardian gets the double opt-in email itself (repermission_guardians_ask). A contact on legal hold
is asked like anyone: the hold keeps records from erasure, it does not take the person's choice away.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from consent.models import Purpose
from consent.retention import lapse_dates, renewal_due_q, renewals_due
from consent.selectors import eligible_contacts
from contacts.models import Contact
from core.languages import in_language
from core.levels import ConsentLevel
from journeys.models import Enrolment, Journey, RenewalRequest, StepRun
from subscriptions.models import ConsentRequest, SubscriptionList
from subscriptions.services import RequestMeta, confirmation_link, consent_request_create

RENEWAL = "renewal"  # ConsentRequest.origin of a re-permission
# The journeys' level: "contact you about your consent" (core.levels), what this email is.
REPERMISSION_LEVEL = ConsentLevel.CONSENT


def _window(now: datetime | None) -> tuple[datetime, datetime]:
    now = now or timezone.now()
    return now, now + timedelta(days=settings.REPERMISSION_DAYS_BEFORE_LAPSE)


def _asked_lately(now: datetime):
    """A renewal request made for the contact within the period: asked in this lapse cycle (the
    contact became due at most that long ago, and was due for a whole cycle before it)."""
    return Exists(
        ConsentRequest.objects.filter(
            contact=OuterRef("pk"),
            origin=RENEWAL,
            requested_at__gte=now - timedelta(days=settings.REPERMISSION_DAYS_BEFORE_LAPSE),
        )
    )


def renewal_due_condition(now: datetime | None = None) -> Q:
    """The segment rule {"renewal": "due"}: an adult holding a consent that lapses within the
    re-permission period (a child's guardian is asked instead: repermission_guardians_ask), not
    asked in this cycle yet (by any re-permission journey: one per language)."""
    after, by = _window(now)
    return renewal_due_q(after=after, by=by) & Q(is_child=False) & ~Q(_asked_lately(after))


def asks_renewal(rules) -> bool:
    """Whether a segment's rules contain the renewal rule."""
    if not isinstance(rules, dict):
        return False
    if "renewal" in rules:
        return True
    return any(asks_renewal(child) for child in rules.get("all") or rules.get("any") or [])


def renewal_journeys():
    return [j for j in Journey.objects.select_related("segment") if asks_renewal(j.segment.rules)]


def _due(contact: Contact, now: datetime | None) -> tuple[dict, datetime | None]:
    """What a renewal of `contact` asks to confirm (double opt-in changes), and the first lapse."""
    after, by = _window(now)
    changes: dict = {}
    lapses = []
    for kind, record in renewals_due(contact, after=after, by=by):
        if isinstance(record, Purpose):
            changes.setdefault("purposes", {})[record.slug] = True
        elif isinstance(record, SubscriptionList):
            changes.setdefault("lists", []).append(record.pk)
        lapses += lapse_dates(kind, record, [contact.pk]).values()
    return changes, min(lapses, default=None)


def _request(contact: Contact, *, now, send: bool) -> ConsentRequest | None:
    """A double opt-in request renewing what lapses soon, its link alive until the first lapse."""
    changes, first_lapse = _due(contact, now)
    if not changes or first_lapse is None or first_lapse <= timezone.now():
        return None
    try:
        with in_language(contact.language):  # the wording kept as evidence is the one they read
            return consent_request_create(
                contact=contact,
                changes=changes,
                origin=RENEWAL,
                meta=RequestMeta(),
                send=send,
                lifetime=first_lapse - timezone.now(),
            )
    except ValidationError:
        return None  # the consent rules refuse it now, or a child's guardian has no address


def renewal_request_prepare(*, run: StepRun, contact: Contact, now=None) -> ConsentRequest | None:
    """With a step's claim: the request whose link this email carries as {{ renew_url }}, made
    once per send (a taken-over claim finds it). None when nothing lapses soon or for a child."""
    existing = RenewalRequest.objects.filter(step_run=run).select_related("consent_request").first()
    if existing is not None:
        return existing.consent_request
    if contact.is_child:
        return None
    request = _request(contact, now=now, send=False)  # the journey's email carries the link
    if request is not None:
        RenewalRequest.objects.create(step_run=run, consent_request=request)
    return request


def renewal_link(run: StepRun) -> str:
    """The {{ renew_url }} of this send, or "" when it has none."""
    found = RenewalRequest.objects.filter(step_run=run).select_related("consent_request").first()
    return confirmation_link(found.consent_request) if found else ""


def repermission_cycles_reopen(*, now=None) -> int:
    """Detach finished enrolments of an earlier lapse cycle from contacts due again and not asked
    in this one, so the re-permission journeys enrol them once more; nobody is asked twice in a
    cycle. The row stays, anonymous, for the journey's statistics; the send's proof (SendConsent)
    keeps the contact."""
    now = now or timezone.now()
    journeys = renewal_journeys()
    if not journeys:
        return 0
    due_again = Contact.objects.filter(renewal_due_condition(now))
    earlier = Enrolment.objects.filter(
        journey__in=journeys,
        status__in=[Enrolment.Status.COMPLETED, Enrolment.Status.EXITED],
        contact__in=due_again,
    )
    return earlier.update(contact=None, exit_detail="An earlier re-permission cycle.")


def repermission_guardians_ask(*, now=None) -> int:
    """A child's consent that lapses soon is renewed by the guardian (GDPR Art. 8(1)), through the
    double opt-in's own email to the guardian, once per cycle; only while a re-permission journey
    is live (the officer's switch for asking at all). Chosen by the eligibility selector."""
    if not any(j.status == Journey.Status.LIVE for j in renewal_journeys()):
        return 0
    now = now or timezone.now()
    after, by = _window(now)
    children = Contact.objects.filter(renewal_due_q(after=after, by=by), is_child=True).exclude(
        _asked_lately(now)
    )
    count = 0
    for child in eligible_contacts(min_level=REPERMISSION_LEVEL, queryset=children).iterator(chunk_size=500):
        count += _request(child, now=now, send=True) is not None
    return count


def repermission_run(*, now=None) -> dict:
    """The daily job: open the next cycle for who is due again, and ask children's guardians.
    Idempotent: a rerun the same day detaches and asks nobody new."""
    return {
        "cycles reopened": repermission_cycles_reopen(now=now),
        "guardians asked": repermission_guardians_ask(now=now),
    }
