"""Journeys as a marketer builds them: create, change, add steps, go live, stop."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.levels import level_name
from core.models import ComplianceSettings
from journeys.models import DEFAULT_MIN_LEVEL, Enrolment, Journey, JourneyStep, Segment


def _min_level_for(requested: int | None) -> int:
    """The compliance switch decides whether a journey may choose its minimum consent."""
    if ComplianceSettings.load().min_consent_level_selection_enabled:
        return DEFAULT_MIN_LEVEL if requested is None else int(requested)
    if requested is not None and int(requested) != DEFAULT_MIN_LEVEL:
        raise ValidationError(
            {
                "min_level": _(
                    "Choosing a minimum consent level is switched off (Compliance settings: “Enable "
                    "minimum consent level selection”); journeys use %(level)s."
                )
                % {"level": level_name(DEFAULT_MIN_LEVEL)}
            }
        )
    return DEFAULT_MIN_LEVEL


def journey_create(
    *,
    name: str,
    segment: Segment,
    purpose=None,
    subscription_list=None,
    min_level: int | None = None,
    enrol_until=None,
    actor=None,
) -> Journey:
    """A draft journey. Its minimum consent is Marketing unless the compliance switch allows a choice."""
    journey = Journey(
        name=name,
        segment=segment,
        purpose=purpose,
        subscription_list=subscription_list,
        min_level=_min_level_for(min_level),
        enrol_until=enrol_until,
    )
    journey.full_clean()
    journey._history_user = actor
    with transaction.atomic():
        journey.save()
    return journey


JOURNEY_FIELDS = {"name", "segment", "purpose", "subscription_list", "min_level", "enrol_until"}


def journey_update(*, journey: Journey, actor=None, **fields) -> Journey:
    """Change a journey's settings. The minimum consent of a live journey cannot change: whoever was
    enrolled under it would be processed on a basis they never met."""
    unknown = fields.keys() - JOURNEY_FIELDS
    if unknown:
        raise ValidationError(_("Unknown journey fields: %s") % ", ".join(sorted(unknown)))
    with transaction.atomic():
        # Locked so going live and this edit cannot cross (an edit slipping past the live check).
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        if "min_level" in fields and int(fields["min_level"]) != locked.min_level:
            if locked.status == Journey.Status.LIVE:
                raise ValidationError(
                    {
                        "min_level": _(
                            "The minimum consent of a live journey cannot be changed. Stop it and "
                            "create a new journey with the new minimum."
                        )
                    }
                )
            if locked.status != Journey.Status.DRAFT:
                raise ValidationError({"min_level": _("This journey has ended; its minimum consent stays.")})
            fields["min_level"] = _min_level_for(fields["min_level"])
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked._history_user = actor
        locked.save()
    return locked


def journey_step_add(
    *,
    journey: Journey,
    kind: str,
    template=None,
    wait_days: int | None = None,
    task_title: str = "",
    task_user=None,
    task_group=None,
) -> JourneyStep:
    """Append a step to a draft journey."""
    if journey.status != Journey.Status.DRAFT:
        raise ValidationError(_("Steps can only be changed while the journey is a draft."))
    with transaction.atomic():
        last = journey.steps.order_by("-position").values_list("position", flat=True).first()
        step = JourneyStep(
            journey=journey,
            position=0 if last is None else last + 1,
            kind=kind,
            template=template,
            wait_days=wait_days,
            task_title=task_title,
            task_user=task_user,
            task_group=task_group,
        )
        step.full_clean()
        step.save()
    return step


def journey_go_live(*, journey: Journey, actor=None) -> Journey:
    """Start a draft journey: the next run enrols its eligible segment members."""
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        if locked.status != Journey.Status.DRAFT:
            raise ValidationError(
                _("Only a draft journey can go live; this one is %s.") % locked.get_status_display()
            )
        if not locked.steps.exists():
            raise ValidationError(_("Add at least one step before the journey goes live."))
        locked.status, locked.went_live_at = Journey.Status.LIVE, timezone.now()
        locked._history_user = actor
        locked._change_reason = "went live"
        locked.save()
    return locked


def journey_pause(*, journey: Journey, actor=None) -> Journey:
    """Pause a live journey: nobody is enrolled and no step is taken until it resumes; everyone in
    it keeps their place."""
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)  # against a stop at once
        if locked.status != Journey.Status.LIVE:
            raise ValidationError(
                _("Only a live journey can be paused; this one is %s.") % locked.get_status_display()
            )
        locked.status = Journey.Status.PAUSED
        locked._history_user = actor
        locked._change_reason = "paused"
        locked.save()
    return locked


def journey_resume(*, journey: Journey, actor=None) -> Journey:
    """Resume a paused journey: the next run enrols who qualifies now and takes every due step.
    Whoever lost consent meanwhile leaves it at their next step (checked before every step)."""
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        if locked.status != Journey.Status.PAUSED:
            raise ValidationError(
                _("Only a paused journey can resume; this one is %s.") % locked.get_status_display()
            )
        locked.status = Journey.Status.LIVE
        locked._history_user = actor
        locked._change_reason = "resumed"
        locked.save()
    return locked


def journey_stop(*, journey: Journey, actor=None) -> Journey:
    """Stop a journey at any time: nobody in it receives anything more from it."""
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        if locked.status in (Journey.Status.STOPPED, Journey.Status.COMPLETED):
            return locked
        now = timezone.now()
        locked.status, locked.stopped_at = Journey.Status.STOPPED, now
        locked._history_user = actor
        locked._change_reason = "stopped"
        locked.save()
        locked.enrolments.filter(status=Enrolment.Status.ACTIVE).update(
            status=Enrolment.Status.EXITED, exit_reason=Enrolment.ExitReason.JOURNEY_STOPPED, finished_at=now
        )
    return locked
