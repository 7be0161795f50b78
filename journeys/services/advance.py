"""Advancing one enrolment by one step, exactly once, and the reason it exits when the contact no
longer qualifies (consent.selectors says who qualifies and why not: rule 2 of DESIGN.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from consent.selectors import Ineligibility, eligibility_explain
from contacts.models import Contact
from core.mail_handover import MailSession, MaybeDelivered
from journeys import placeholders
from journeys.emails import journey_email
from journeys.forwarding import forward_link
from journeys.models import Enrolment, Journey, JourneyStep, JourneyTask, SendConsent, StepRun
from journeys.repermission import renewal_link, renewal_request_prepare
from journeys.selectors import journey_criteria, journey_may_process
from journeys.services.send_consent import send_consent_record
from journeys.tracking import Tracker, may_track
from subscriptions.emails import way_out_missing

logger = logging.getLogger(__name__)


def claim_timeout() -> timedelta:
    """How long a step's claim holds before a rerun treats its worker as dead (JOURNEY_CLAIM_MINUTES)."""
    return timedelta(minutes=settings.JOURNEY_CLAIM_MINUTES)


# A send that failed (SMTP down) is tried again on a later run, not in a tight loop.
RETRY_DELAY = timedelta(minutes=15)


class AdvanceOutcome(StrEnum):
    """What enrolment_advance did with one enrolment (journeys_run counts them by value)."""

    SKIPPED = "skipped"  # another worker holds it, or it is not due (any more)
    PAUSED = "paused"  # the journey is not live
    COMPLETED = "completed"  # no step left
    EXITED = "exited"  # no longer eligible, or no email address
    WAITED = "waited"
    BUSY = "busy"  # a worker is on this step right now
    NOT_REPEATED = "not repeated"  # the step ran before (or may have): never twice
    TASK = "task"
    TAKEN_OVER = "taken over"  # its expired claim was taken over by another run before sending
    SENT = "sent"
    NO_WAY_OUT = "refused: no way out"  # the email lacked its unsubscribe link: not sent, tried later
    FAILED = "failed"  # journeys_run's: the mail server refused or could not be reached


# Outcomes after which nothing moved: journeys_run stops its passes when a pass has only these.
NO_PROGRESS = frozenset(
    {
        AdvanceOutcome.SKIPPED,
        AdvanceOutcome.BUSY,
        AdvanceOutcome.PAUSED,
        AdvanceOutcome.FAILED,
        AdvanceOutcome.TAKEN_OVER,
        AdvanceOutcome.NO_WAY_OUT,
    }
)

# The journey exit that each eligibility rule a contact fails stands for. A child in a profiling
# journey and a missing tracking choice (journeys never ask for it) fall below the minimum.
EXIT_REASONS = {
    Ineligibility.RESTRICTED: Enrolment.ExitReason.RESTRICTED,
    Ineligibility.UNSUBSCRIBED: Enrolment.ExitReason.UNSUBSCRIBED,
    Ineligibility.BELOW_MINIMUM: Enrolment.ExitReason.BELOW_MINIMUM,
    Ineligibility.CHILD: Enrolment.ExitReason.BELOW_MINIMUM,
    Ineligibility.NO_TRACKING: Enrolment.ExitReason.BELOW_MINIMUM,
    Ineligibility.NO_PURPOSE_CONSENT: Enrolment.ExitReason.PURPOSE_WITHDRAWN,
    Ineligibility.OPTED_OUT: Enrolment.ExitReason.PURPOSE_WITHDRAWN,
    Ineligibility.UNDELIVERABLE: Enrolment.ExitReason.UNDELIVERABLE,
}


def _exit_reason(journey: Journey, contact_id: int | None) -> tuple[Enrolment.ExitReason, str]:
    """Why the journey may no longer process this contact: the first eligibility rule it fails,
    as consent.eligibility tells it (the selector said no; the same rules say why), and the
    rules' words for it. The words leave out what only some roles may read (a child, a
    restriction): every role that sees the journey reads them; the code says the rest."""
    if contact_id is None:
        return Enrolment.ExitReason.ERASED, ""
    explanation = eligibility_explain(
        contact_id=contact_id, asked=f"journey “{journey.name}”", **journey_criteria(journey)
    )
    if explanation.erased:
        return Enrolment.ExitReason.ERASED, ""
    failed = explanation.reasons[0].reason if explanation.reasons else None
    words = " ".join(f.words for f in explanation.for_viewer(sees_sensitive=False).reasons)
    # None only if the contact qualified again between the two reads: the generic reason then.
    return EXIT_REASONS.get(failed, Enrolment.ExitReason.BELOW_MINIMUM), words[:1000]


def _finish(enrolment: Enrolment, *, status: str, reason: str = "", detail: str = "", now) -> None:
    enrolment.status, enrolment.exit_reason, enrolment.finished_at = status, reason, now
    enrolment.exit_detail = detail
    enrolment.save(update_fields=["status", "exit_reason", "exit_detail", "finished_at"])


def _move_on(enrolment: Enrolment, step: JourneyStep, *, due_at) -> None:
    enrolment.next_position, enrolment.due_at = step.position + 1, due_at
    enrolment.save(update_fields=["next_position", "due_at"])


@dataclass
class _Turn:
    """One enrolment's turn in enrolment_advance: what its steps find out, passed along."""

    enrolment: Enrolment
    now: datetime
    step: JourneyStep | None = None
    previous: StepRun | None = None  # this step's run from an earlier turn, if any
    run: StepRun | None = None  # the claim this turn sends under
    contact: Contact | None = None


def enrolment_advance(*, enrolment_id: int, now=None, mail: MailSession | None = None) -> AdvanceOutcome:
    """Take one enrolment one step further, if due. Returns what happened.

    Before every step the contact is re-checked with the eligibility selector; who no longer
    qualifies exits with the reason recorded. An email step is claimed in a committed StepRun
    before sending (unique per enrolment and step), so neither a retry, nor a crash, nor a second
    worker sends it twice. The row lock with SKIP LOCKED lets two workers share the queue.

    A claim older than JOURNEY_CLAIM_MINUTES belongs to a dead worker: if it never handed the mail
    to the server, a rerun takes the claim over and sends; if it had, the step is not repeated
    and stays marked uncertain (at most once: an email is never sent twice). Over SMTP the hand-over
    is marked just before the end of the message's data (core.mail_handover), so a worker killed
    anywhere else in the conversation leaves a claim that is taken over: sent exactly once.

    `mail`: a connection shared by a batch of sends (enrolments_advance); without it, one of its own.
    """
    now = now or timezone.now()
    with transaction.atomic():
        enrolment = (
            Enrolment.objects.select_for_update(skip_locked=True)
            .filter(pk=enrolment_id, status=Enrolment.Status.ACTIVE, due_at__lte=now)
            .first()
        )
        if enrolment is None:
            return AdvanceOutcome.SKIPPED
        turn = _Turn(enrolment=enrolment, now=now)
        outcome = _settle(turn) or _claim_email(turn)
        if outcome is not None:
            return outcome
    # The claim is committed: from here on no other worker sends this step unless the claim expires
    # before it is handed to the mail server.
    return _send(turn, mail)


def _settle(turn: _Turn) -> AdvanceOutcome | None:
    """Inside the lock, everything decided without a mail; None when an email step is to be sent."""
    enrolment, now = turn.enrolment, turn.now
    journey = enrolment.journey
    if journey.status != Journey.Status.LIVE:
        return AdvanceOutcome.PAUSED
    step = journey.steps.filter(position__gte=enrolment.next_position).order_by("position").first()
    if step is None:
        _finish(enrolment, status=Enrolment.Status.COMPLETED, now=now)
        return AdvanceOutcome.COMPLETED
    if not journey_may_process(journey, enrolment.contact_id):
        reason, detail = _exit_reason(journey, enrolment.contact_id)
        _finish(enrolment, status=Enrolment.Status.EXITED, reason=reason, detail=detail, now=now)
        return AdvanceOutcome.EXITED
    if step.kind == JourneyStep.Kind.WAIT:
        _move_on(enrolment, step, due_at=now + timedelta(days=step.wait_days))
        return AdvanceOutcome.WAITED
    turn.step = step
    turn.previous = StepRun.objects.filter(enrolment=enrolment, step=step).first()
    outcome = _earlier_run(turn)
    if outcome is not None:
        return outcome
    if step.kind == JourneyStep.Kind.TASK:
        _task_create(turn)
        return AdvanceOutcome.TASK
    return None


def _earlier_run(turn: _Turn) -> AdvanceOutcome | None:
    """A run of this step from an earlier turn: busy while its claim holds; never repeated once it
    may have gone out. None: no run yet, or an expired claim that never handed the mail over."""
    previous = turn.previous
    if previous is None:
        return None
    if previous.status in (StepRun.Status.CLAIMED, StepRun.Status.SENDING):
        if previous.claimed_at > timezone.now() - claim_timeout():
            return AdvanceOutcome.BUSY  # a worker is on it right now
        if previous.status == StepRun.Status.SENDING:
            # Its worker died while the mail server had the message: it may have gone out, so it
            # is never repeated (at most once) and stays recorded as uncertain.
            StepRun.objects.filter(pk=previous.pk, status=StepRun.Status.SENDING).update(
                status=StepRun.Status.UNCERTAIN
            )
            previous.status = StepRun.Status.UNCERTAIN
    if previous.status != StepRun.Status.CLAIMED:
        _move_on(turn.enrolment, turn.step, due_at=turn.now)
        return AdvanceOutcome.NOT_REPEATED
    return None


def _task_create(turn: _Turn) -> None:
    # No outside effect: the task and its StepRun commit together, or neither does.
    enrolment, step, now = turn.enrolment, turn.step, turn.now
    JourneyTask.objects.create(
        journey=enrolment.journey,
        contact_id=enrolment.contact_id,
        title=step.task_title,
        assigned_user=step.task_user,
        assigned_group=step.task_group,
    )
    StepRun.objects.create(
        enrolment=enrolment, step=step, status=StepRun.Status.DONE, claimed_at=now, done_at=now
    )
    _move_on(enrolment, step, due_at=now)


def _claim_email(turn: _Turn) -> AdvanceOutcome | None:
    """Claim the email step in a StepRun (committed with the lock's transaction); None: claimed."""
    enrolment = turn.enrolment
    contact = Contact.objects.get(pk=enrolment.contact_id)
    if not contact.email:
        _finish(enrolment, status=Enrolment.Status.EXITED, reason=Enrolment.ExitReason.NO_EMAIL, now=turn.now)
        return AdvanceOutcome.EXITED
    if turn.previous is None:
        run = StepRun.objects.create(enrolment=enrolment, step=turn.step, claimed_at=timezone.now())
    else:
        # An expired claim whose worker never handed the mail over: nothing went out, so this
        # run takes the claim over and sends. The compare-and-set fences off its first owner
        # if that one was only slow, not dead (see _hand_over).
        run, taken = turn.previous, timezone.now()
        if not StepRun.objects.filter(
            pk=run.pk, status=StepRun.Status.CLAIMED, claimed_at=run.claimed_at
        ).update(claimed_at=taken):
            return AdvanceOutcome.BUSY
        run.claimed_at = taken
    # What the send relies on, committed with its claim (the selector has just allowed it).
    send_consent_record(run=run, contact=contact, journey=enrolment.journey, at=run.claimed_at)
    if placeholders.RENEW in placeholders.placed(turn.step.template.body):
        # The re-permission link this email carries, committed with the claim (made once).
        renewal_request_prepare(run=run, contact=contact, now=turn.now)
    turn.run, turn.contact = run, contact
    return None


def _send(turn: _Turn, mail: MailSession | None) -> AdvanceOutcome:
    """Hand the claimed step's email to the mail server, then mark it done and move on."""
    enrolment, step, run, now = turn.enrolment, turn.step, turn.run, turn.now
    journey = enrolment.journey
    # Opens and clicks are tracked for whom the selector allows it, decided per email (ePrivacy
    # Art. 5(3)); everybody else gets the plain links and no image.
    tracked = may_track(turn.contact.pk)
    message = journey_email(
        template=step.template,
        contact=turn.contact,
        subscription_list=journey.subscription_list if journey.subscription_list_id else None,
        forward_link=forward_link(run.pk),
        tracker=Tracker(template=step.template, send_id=run.pk) if tracked else None,
        renew_link=renewal_link(run),
    )
    problem = way_out_missing(message)
    if problem:
        return _refuse(turn, problem)
    # The same Message-ID for the same send however often it is tried (a claim taken over keeps
    # its StepRun): a mail server or mailbox that saw it once can tell a copy.
    message.extra_headers["Message-ID"] = f"<journey-send-{run.pk}.{enrolment.pk}@{_message_id_domain()}>"
    own = mail is None
    mail = mail or MailSession()
    try:
        # Connecting (and TLS, login) and the whole conversation up to the end of the message come
        # before the point of no return, so a worker that dies or hangs there leaves a claim that
        # a later run may safely take over.
        if not mail.send(message, hand_over=lambda: _hand_over(run)):
            return AdvanceOutcome.TAKEN_OVER
    except MaybeDelivered:
        # Past the point of no return: the server may have it. The claim stays "sending" and
        # becomes "uncertain" once it expires: never sent again (at most once).
        raise
    except Exception:
        # The server refused it or could not be reached: released, so a later run sends it.
        mail.drop()
        _release(turn)
        raise
    finally:
        if own:
            mail.drop()
    with transaction.atomic():
        StepRun.objects.filter(pk=run.pk).update(status=StepRun.Status.DONE, done_at=timezone.now())
        Enrolment.objects.filter(pk=enrolment.pk, next_position=enrolment.next_position).update(
            next_position=step.position + 1, due_at=now
        )
    return AdvanceOutcome.SENT


def _message_id_domain() -> str:
    address = settings.DEFAULT_FROM_EMAIL.rpartition("<")[2].rstrip(">")
    return address.rpartition("@")[2] or "localhost"


def _release(turn: _Turn) -> None:
    """Give up this turn's claim without sending, so a later run tries the step again."""
    run = turn.run
    with transaction.atomic():
        released = StepRun.objects.filter(
            pk=run.pk,
            status__in=[StepRun.Status.CLAIMED, StepRun.Status.SENDING],
            claimed_at=run.claimed_at,
        )
        # No mail left, so the consent it would have relied on proves nothing (and is protected).
        SendConsent.objects.filter(step_run__in=released).delete()
        released.delete()
        Enrolment.objects.filter(pk=turn.enrolment.pk).update(due_at=turn.now + RETRY_DELAY)


def _refuse(turn: _Turn, problem: str) -> AdvanceOutcome:
    """The one point every journey email passes before the mail server: one without its way out
    (unsubscribe and preferences links in text and HTML) never connects to it. The claim is
    released and the reason logged (ids only, no personal data), so a fixed template or footer
    sends it on a later run."""
    _release(turn)
    logger.error(
        "journey email not sent: %s",
        problem,
        extra={"journey": turn.enrolment.journey_id, "step": turn.step.pk, "enrolment": turn.enrolment.pk},
    )
    return AdvanceOutcome.NO_WAY_OUT


def _hand_over(run: StepRun) -> bool:
    """Mark the claim as handed to the mail server (committed), if this worker still owns it.

    From this mark on, a worker that dies leaves a step that may have been delivered; before it, a
    step that certainly was not. False: the claim expired and another run took it over.
    """
    return bool(
        StepRun.objects.filter(pk=run.pk, status=StepRun.Status.CLAIMED, claimed_at=run.claimed_at).update(
            status=StepRun.Status.SENDING
        )
    )
