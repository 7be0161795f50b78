"""Segments, journeys and lead scoring: every write that carries a rule.

Who may be processed is decided by consent.selectors.eligible_contacts only (rule 2 of DESIGN.md),
through journeys.selectors.
"""

from __future__ import annotations

import csv
import logging
import re
import smtplib
from collections import Counter
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.selectors import eligible_contacts, is_eligible
from contacts.models import Contact
from core.files import written_whole
from core.levels import CHILD_MAXIMUM, ConsentLevel
from core.models import ComplianceSettings
from core.xlsx import FORMULA_START, plain_value, write_workbook
from journeys.emails import journey_email
from journeys.forwarding import forward_link
from journeys.models import (
    DEFAULT_MIN_LEVEL,
    Enrolment,
    Interaction,
    Journey,
    JourneyStep,
    JourneyTask,
    Score,
    ScoringModel,
    Segment,
    SegmentExport,
    StepRun,
)
from journeys.rules import rules_to_q
from journeys.selectors import journey_audience, journey_may_process, segment_members

logger = logging.getLogger(__name__)


def claim_timeout() -> timedelta:
    """How long a step's claim holds before a rerun treats its worker as dead (JOURNEY_CLAIM_MINUTES)."""
    return timedelta(minutes=settings.JOURNEY_CLAIM_MINUTES)


# A send that failed (SMTP down) is tried again on a later run, not in a tight loop.
RETRY_DELAY = timedelta(minutes=15)
MAX_PASSES = 50


# --- segments -----------------------------------------------------------------------------------


def segment_create(*, name: str, rules: dict, description: str = "", actor=None) -> Segment:
    """A segment; its rules are validated (journeys.rules) before anything is saved."""
    segment = Segment(name=name, rules=rules, description=description)
    segment.full_clean()
    segment._history_user = actor
    with transaction.atomic():
        segment.save()
    return segment


def segment_update(*, segment: Segment, actor=None, **fields) -> Segment:
    unknown = fields.keys() - {"name", "rules", "description"}
    if unknown:
        raise ValidationError(_("Unknown segment fields: %s") % ", ".join(sorted(unknown)))
    for name, value in fields.items():
        setattr(segment, name, value)
    segment.full_clean()
    segment._history_user = actor
    with transaction.atomic():
        segment.save()
    return segment


def segment_member_count(*, segment: Segment, cap: int | None = None) -> int:
    """Eligible members (level 0: everyone not restricted), counted up to `cap` + 1 at most."""
    cap = settings.ADMIN_LIST_COUNT_CAP if cap is None else cap
    return segment_members(segment=segment).order_by()[: cap + 1].count()


def segment_export_start(*, segment: Segment, user, format: str = SegmentExport.Format.XLSX) -> SegmentExport:
    """Queue an export of the segment's eligible members; a Celery job writes the file."""
    from journeys.tasks import build_segment_export

    export = SegmentExport(segment=segment, requested_by=user, format=format)
    export.full_clean()
    with transaction.atomic():
        export.save()
        transaction.on_commit(lambda: build_segment_export.delay(export.pk))
    return export


EXPORT_HEADER = ["Contact id", "First name", "Last name", "Email", "Phone", "Country", "Consent level"]
PROGRESS_EVERY = 1000


def segment_export_build(*, export_id: int) -> SegmentExport:
    """Write the file of one export job, reporting progress. A rerun rewrites the same file."""
    with transaction.atomic():
        export = SegmentExport.objects.select_for_update().select_related("segment").get(pk=export_id)
        if export.status == SegmentExport.Status.DONE:
            return export
        members = segment_members(segment=export.segment).order_by("pk")
        export.total = min(members.count(), settings.EXPORT_MAX_ROWS)
        export.status, export.written, export.error = SegmentExport.Status.RUNNING, 0, ""
        export.save(update_fields=["total", "status", "written", "error"])
    folder = Path(settings.MEDIA_ROOT) / "segment-exports"
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"segment-exports/segment-{export.segment_id}-export-{export.pk}.{export.format}"
    values = members.values_list(
        "pk", "first_name", "last_name", "email", "phone", "country", "consent_given"
    )[: settings.EXPORT_MAX_ROWS]

    def rows():
        for written, row in enumerate(values.iterator(chunk_size=2000), 1):
            yield row
            if written % PROGRESS_EVERY == 0:
                SegmentExport.objects.filter(pk=export.pk).update(written=written)

    try:
        path = Path(settings.MEDIA_ROOT) / relative
        if export.format == SegmentExport.Format.CSV:
            with written_whole(path, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(EXPORT_HEADER)
                written = 0
                for written, row in enumerate(rows(), 1):  # noqa: B007 (the count is used below)
                    writer.writerow([_csv_safe(v) for v in row])
        else:
            with written_whole(path) as out:
                written = write_workbook(
                    out, title=_sheet_title(str(export.segment)), header=EXPORT_HEADER, rows=rows()
                )
    except Exception as error:
        SegmentExport.objects.filter(pk=export.pk, status=SegmentExport.Status.RUNNING).update(
            status=SegmentExport.Status.FAILED, error=str(error)[:1000], finished_at=timezone.now()
        )
        raise
    # Compare-and-set: an erasure that ran meanwhile failed this export (its file may name the
    # erased person, read before the erasure committed); the file is then not kept. Another run
    # of the same job (a redelivered task) may have finished it instead: the file in place was
    # written whole by one of the two runs, and is kept.
    done = SegmentExport.objects.filter(pk=export.pk, status=SegmentExport.Status.RUNNING).update(
        status=SegmentExport.Status.DONE, written=written, file=relative, finished_at=timezone.now()
    )
    if not done and not SegmentExport.objects.filter(pk=export.pk, status=SegmentExport.Status.DONE).exists():
        path.unlink(missing_ok=True)
    export.refresh_from_db()
    return export


def _export_file(export: SegmentExport) -> Path:
    """Where the build writes (or wrote) the file, whether or not the row names it yet."""
    return Path(settings.MEDIA_ROOT) / (
        export.file or f"segment-exports/segment-{export.segment_id}-export-{export.pk}.{export.format}"
    )


ERASED_WHILE_RUNNING = "An erasure ran while this export was written, so its file was not kept. Export again."
ERASED_FROM_FILE = "The file was deleted: it named a person who has since been erased. Export again."


def segment_exports_naming(ids: list[int], identities: list) -> list[SegmentExport]:
    """Exports whose file names any of these people, and those still being written (they may:
    their query ran before the erasure). Locked, so a build finishing meanwhile waits."""
    from core.filescan import file_mentions

    found = []
    for export in SegmentExport.objects.select_for_update().exclude(status=SegmentExport.Status.FAILED):
        if export.status != SegmentExport.Status.DONE or (
            (path := segment_export_path(export)) is not None and file_mentions(path, identities)
        ):
            found.append(export)
    return found


def segment_exports_withdraw(exports: list[SegmentExport], identities=None) -> None:
    """Inside the erasure: the exports no longer offer their file for download."""
    now = timezone.now()
    pks = [e.pk for e in exports]
    SegmentExport.objects.filter(pk__in=pks, status=SegmentExport.Status.DONE).update(
        file="", error=ERASED_FROM_FILE
    )
    SegmentExport.objects.filter(pk__in=pks).exclude(status=SegmentExport.Status.DONE).update(
        status=SegmentExport.Status.FAILED, error=ERASED_WHILE_RUNNING, finished_at=now
    )


def segment_export_files_delete(exports: list[SegmentExport], identities=None) -> int:
    """After the erasure committed: the files go. An export is a copy a marketer makes again in a
    minute, and one naming an erased person is out of date by definition, so it is deleted whole
    rather than rewritten."""
    count = 0
    for export in exports:
        path = _export_file(export)
        if path.is_file():
            path.unlink()
            count += 1
    return count


def segment_exports_purge(*, now=None) -> int:
    """Delete export files older than the retention period in the compliance settings (GDPR Art.
    5(1)(e)): the row stays as the record of who exported what and when."""
    from core.models import ComplianceSettings

    days = ComplianceSettings.load().segment_export_retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    stale = list(
        SegmentExport.objects.filter(status=SegmentExport.Status.DONE, finished_at__lt=cutoff).exclude(
            file=""
        )
    )
    for export in stale:
        _export_file(export).unlink(missing_ok=True)
    SegmentExport.objects.filter(pk__in=[e.pk for e in stale]).update(
        file="", error=f"The file was deleted after {days} days (retention period)."
    )
    # Files no row offers any more (a build whose row was deleted or failed): gone after the period too.
    folder = Path(settings.MEDIA_ROOT) / "segment-exports"
    kept = set(SegmentExport.objects.exclude(file="").values_list("file", flat=True))
    orphans = 0
    if folder.is_dir():
        for path in folder.iterdir():
            relative = f"segment-exports/{path.name}"
            if relative not in kept and path.is_file() and path.stat().st_mtime < cutoff.timestamp():
                path.unlink()
                orphans += 1
    return len(stale) + orphans


def _sheet_title(name: str) -> str:
    """Excel refuses sheet titles with []:*?/\\ in them, or longer than 31 characters."""
    return re.sub(r"[\[\]:*?/\\]", " ", name)[:31].strip() or "Members"


def _csv_safe(value):
    """OWASP CSV injection: text that a spreadsheet could run as a formula gets a leading quote."""
    value = plain_value(value)
    if isinstance(value, str) and FORMULA_START.match(value):
        return "'" + value
    return value


def segment_export_path(export: SegmentExport) -> Path | None:
    if export.status != SegmentExport.Status.DONE or not export.file:
        return None
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / export.file).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


# --- journeys -----------------------------------------------------------------------------------


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
                % {"level": ConsentLevel(DEFAULT_MIN_LEVEL).label}
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


def journey_enrol(*, journey: Journey, now=None) -> int:
    """Enrol the journey's eligible audience not yet enrolled, as one INSERT ... SELECT.

    The audience is journeys.selectors.journey_audience (eligible_contacts over the segment); the
    unique (journey, contact) constraint and ON CONFLICT DO NOTHING keep two runs at once from
    enrolling anyone twice, and nobody is ever re-enrolled. Returns how many were enrolled.
    """
    now = now or timezone.now()
    if journey.status != Journey.Status.LIVE or (journey.enrol_until and journey.enrol_until <= now):
        return 0
    enrolled = Enrolment.objects.filter(journey=journey, contact=OuterRef("pk"))
    audience = journey_audience(journey).filter(~Exists(enrolled)).order_by().values(audience_id=F("pk"))
    select_sql, params = audience.query.sql_with_params()
    qn = connection.ops.quote_name
    # "WHERE 1 = 1": SQLite would read ON CONFLICT as a join's ON without a WHERE before it.
    # Only quoted identifiers and the ORM's own compiled SQL go into the text; values are parameters.
    columns = ", ".join(qn(c) for c in ("journey_id", "contact_id", "due_at"))
    sql = (
        f"INSERT INTO {qn(Enrolment._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT %s, audience.{qn('audience_id')}, %s FROM ({select_sql}) audience "
        "WHERE 1 = 1 ON CONFLICT DO NOTHING"
    )
    # The first step is due at the run's `now` (not the database clock), so the run that enrols
    # also takes the first step.
    due = connection.ops.adapt_datetimefield_value(now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [journey.pk, due, *params])
        return max(cursor.rowcount, 0)


def _exit_reason(journey: Journey, contact_id: int | None) -> str:
    """Why the journey may no longer process this contact (the selector said no; this says why)."""
    from subscriptions.models import Subscription

    reason = Enrolment.ExitReason
    contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
    if contact is None:
        return reason.ERASED
    if contact.processing_restricted:
        return reason.RESTRICTED
    if (
        journey.subscription_list_id
        and Subscription.objects.filter(
            contact=contact, subscription_list_id=journey.subscription_list_id, status="unsubscribed"
        ).exists()
    ):
        return reason.UNSUBSCRIBED
    if contact.consent_given < journey.min_level or (contact.is_child and journey.min_level > CHILD_MAXIMUM):
        return reason.BELOW_MINIMUM
    if journey.purpose_id:
        return reason.PURPOSE_WITHDRAWN
    return reason.BELOW_MINIMUM


def _finish(enrolment: Enrolment, *, status: str, reason: str = "", now) -> None:
    enrolment.status, enrolment.exit_reason, enrolment.finished_at = status, reason, now
    enrolment.save(update_fields=["status", "exit_reason", "finished_at"])


def _move_on(enrolment: Enrolment, step: JourneyStep, *, due_at) -> None:
    enrolment.next_position, enrolment.due_at = step.position + 1, due_at
    enrolment.save(update_fields=["next_position", "due_at"])


def enrolment_advance(*, enrolment_id: int, now=None) -> str:
    """Take one enrolment one step further, if due. Returns what happened.

    Before every step the contact is re-checked with the eligibility selector; who no longer
    qualifies exits with the reason recorded. An email step is claimed in a committed StepRun
    before sending (unique per enrolment and step), so neither a retry, nor a crash, nor a second
    worker sends it twice. The row lock with SKIP LOCKED lets two workers share the queue.

    A claim older than JOURNEY_CLAIM_MINUTES belongs to a dead worker: if it never handed the mail
    to the server, a rerun takes the claim over and sends; if it had, the step is not repeated
    and stays marked uncertain (at most once: an email is never sent twice).
    """
    now = now or timezone.now()
    with transaction.atomic():
        enrolment = (
            Enrolment.objects.select_for_update(skip_locked=True)
            .filter(pk=enrolment_id, status=Enrolment.Status.ACTIVE, due_at__lte=now)
            .first()
        )
        if enrolment is None:
            return "skipped"  # another worker holds it, or it is not due (any more)
        journey = enrolment.journey
        if journey.status != Journey.Status.LIVE:
            return "paused"
        step = journey.steps.filter(position__gte=enrolment.next_position).order_by("position").first()
        if step is None:
            _finish(enrolment, status=Enrolment.Status.COMPLETED, now=now)
            return "completed"
        if not journey_may_process(journey, enrolment.contact_id):
            reason = _exit_reason(journey, enrolment.contact_id)
            _finish(enrolment, status=Enrolment.Status.EXITED, reason=reason, now=now)
            return "exited"
        if step.kind == JourneyStep.Kind.WAIT:
            _move_on(enrolment, step, due_at=now + timedelta(days=step.wait_days))
            return "waited"
        previous = StepRun.objects.filter(enrolment=enrolment, step=step).first()
        if previous is not None and previous.status in (StepRun.Status.CLAIMED, StepRun.Status.SENDING):
            if previous.claimed_at > timezone.now() - claim_timeout():
                return "busy"  # a worker is on it right now
            if previous.status == StepRun.Status.SENDING:
                # Its worker died while the mail server had the message: it may have gone out, so it
                # is never repeated (at most once) and stays recorded as uncertain.
                StepRun.objects.filter(pk=previous.pk, status=StepRun.Status.SENDING).update(
                    status=StepRun.Status.UNCERTAIN
                )
                previous.status = StepRun.Status.UNCERTAIN
        if previous is not None and previous.status != StepRun.Status.CLAIMED:
            _move_on(enrolment, step, due_at=now)
            return "not repeated"
        if step.kind == JourneyStep.Kind.TASK:
            # No outside effect: the task and its StepRun commit together, or neither does.
            JourneyTask.objects.create(
                journey=journey,
                contact_id=enrolment.contact_id,
                title=step.task_title,
                assigned_user=step.task_user,
                assigned_group=step.task_group,
            )
            StepRun.objects.create(
                enrolment=enrolment, step=step, status=StepRun.Status.DONE, claimed_at=now, done_at=now
            )
            _move_on(enrolment, step, due_at=now)
            return "task"
        contact = Contact.objects.get(pk=enrolment.contact_id)
        if not contact.email:
            _finish(enrolment, status=Enrolment.Status.EXITED, reason=Enrolment.ExitReason.NO_EMAIL, now=now)
            return "exited"
        if previous is None:
            run = StepRun.objects.create(enrolment=enrolment, step=step, claimed_at=timezone.now())
        else:
            # An expired claim whose worker never handed the mail over: nothing went out, so this
            # run takes the claim over and sends. The compare-and-set fences off its first owner
            # if that one was only slow, not dead (see _hand_over).
            run, taken = previous, timezone.now()
            if not StepRun.objects.filter(
                pk=run.pk, status=StepRun.Status.CLAIMED, claimed_at=run.claimed_at
            ).update(claimed_at=taken):
                return "busy"
            run.claimed_at = taken
    # The claim is committed: from here on no other worker sends this step unless the claim expires
    # before it is handed to the mail server.
    message = journey_email(
        template=step.template,
        contact=contact,
        subscription_list=journey.subscription_list if journey.subscription_list_id else None,
        forward_link=forward_link(run.pk),
    )
    try:
        # Connecting (and TLS, login) comes before the point of no return, so a worker that dies or
        # hangs there leaves a claim that a later run may safely take over.
        with get_connection() as smtp:
            if not _hand_over(run):
                return "taken over"
            smtp.send_messages([message])
    except Exception:
        with transaction.atomic():
            # The server refused it or could not be reached: released, so a later run sends it.
            StepRun.objects.filter(
                pk=run.pk,
                status__in=[StepRun.Status.CLAIMED, StepRun.Status.SENDING],
                claimed_at=run.claimed_at,
            ).delete()
            Enrolment.objects.filter(pk=enrolment.pk).update(due_at=now + RETRY_DELAY)
        raise
    with transaction.atomic():
        StepRun.objects.filter(pk=run.pk).update(status=StepRun.Status.DONE, done_at=timezone.now())
        Enrolment.objects.filter(pk=enrolment.pk, next_position=enrolment.next_position).update(
            next_position=step.position + 1, due_at=now
        )
    return "sent"


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


def journeys_run(*, now=None, batch: int = 500) -> dict:
    """The beat job: enrol every live journey's new audience, then advance every due enrolment
    until nothing more is due; complete journeys whose enrolment window closed and emptied.

    Safe to run twice at once or again after a crash (see enrolment_advance).
    """
    now = now or timezone.now()
    counts: Counter = Counter()
    for journey in Journey.objects.filter(status=Journey.Status.LIVE):
        counts["enrolled"] += journey_enrol(journey=journey, now=now)
    for _pass in range(MAX_PASSES):
        progressed, last_id = 0, 0
        while True:
            ids = list(
                Enrolment.objects.filter(
                    status=Enrolment.Status.ACTIVE,
                    due_at__lte=now,
                    journey__status=Journey.Status.LIVE,
                    pk__gt=last_id,
                )
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            last_id = ids[-1]
            for enrolment_id in ids:
                try:
                    outcome = enrolment_advance(enrolment_id=enrolment_id, now=now)
                except (smtplib.SMTPException, OSError):
                    logger.exception("journey email failed", extra={"enrolment": enrolment_id})
                    outcome = "failed"
                counts[outcome] += 1
                progressed += outcome not in {"skipped", "busy", "paused", "failed", "taken over"}
        if not progressed:
            break
    counts["journeys completed"] = journeys_complete(now=now)
    return dict(counts)


def journeys_complete(*, now=None) -> int:
    """Live journeys past their enrolment window with nobody left in them become completed."""
    now = now or timezone.now()
    active = Enrolment.objects.filter(journey=OuterRef("pk"), status=Enrolment.Status.ACTIVE)
    return (
        Journey.objects.filter(status=Journey.Status.LIVE, enrol_until__lte=now)
        .filter(~Exists(active))
        .update(status=Journey.Status.COMPLETED)
    )


# --- interactions and lead scoring --------------------------------------------------------------


def interactions_purge(*, now=None) -> int:
    """Delete interactions older than the retention period in the compliance settings
    (GDPR Art. 5(1)(e)); lead scores recomputed afterwards no longer count them."""
    from core.models import ComplianceSettings

    days = ComplianceSettings.load().interaction_retention_days
    return Interaction.objects.filter(at__lt=(now or timezone.now()) - timedelta(days=days)).delete()[0]


def interaction_record(*, contact: Contact, kind: str, at=None, detail: str = "") -> Interaction | None:
    """Keep an interaction only when the contact allows tracking (ePrivacy Art. 5(3)); else nothing."""
    if not is_eligible(contact, min_level=ConsentLevel.NONE, needs_tracking=True):
        return None
    interaction = Interaction(contact=contact, kind=kind, at=at or timezone.now(), detail=detail[:300])
    interaction.full_clean()
    interaction.save()
    return interaction


def _score_expression(model: ScoringModel, *, tracked, now):
    attributes = Value(0, output_field=IntegerField())
    interactions = Value(0, output_field=IntegerField())
    for rule in model.rules.all():
        if rule.condition:
            attributes = attributes + Case(
                When(rules_to_q(rule.condition), then=Value(rule.points)),
                default=Value(0),
                output_field=IntegerField(),
            )
            continue
        done = Interaction.objects.filter(contact=OuterRef("pk"), kind=rule.interaction)
        if rule.within_days:
            done = done.filter(at__gte=now - timedelta(days=rule.within_days))
        count = Subquery(done.order_by().values("contact").annotate(n=Count("pk")).values("n")[:1])
        interactions = interactions + Coalesce(count, 0) * Value(rule.points)
    # Interaction points only for who allows tracking, as the selector says (ePrivacy Art. 5(3)).
    return attributes + Case(
        When(Exists(tracked.filter(pk=OuterRef("pk"))), then=interactions),
        default=Value(0),
        output_field=IntegerField(),
    )


def lead_scores_compute(*, model: ScoringModel, now=None) -> dict:
    """Recompute one model's scores as one INSERT ... SELECT (upsert), and remove the scores of
    contacts who no longer meet its minimum consent.

    Lead scoring is profiling (GDPR Art. 4(4)); children are never profiled (Art. 8, Recital 71),
    whatever the model's minimum: at Profiling the selector leaves them out, below it so does the
    queryset given to it.
    """
    now = now or timezone.now()
    adults = Contact.objects.filter(is_child=False)
    scored = eligible_contacts(min_level=model.min_level, queryset=adults)
    tracked = eligible_contacts(min_level=model.min_level, needs_tracking=True, queryset=adults)
    with transaction.atomic():
        removed = Score.objects.filter(model=model).exclude(contact__in=scored.values("pk")).delete()[0]
        if not model.active:
            return {"scored": 0, "removed": removed + Score.objects.filter(model=model).delete()[0]}
        rows = (
            scored.order_by()
            .annotate(points=_score_expression(model, tracked=tracked, now=now))
            .values("points", scored_id=F("pk"))
        )
        select_sql, params = rows.query.sql_with_params()
        qn = connection.ops.quote_name
        table, stamp = qn(Score._meta.db_table), connection.ops.adapt_datetimefield_value(now)
        columns = ", ".join(qn(c) for c in ("model_id", "contact_id", "score", "computed_at"))
        # As in journey_enrol: quoted identifiers and the ORM's compiled SQL; values are parameters.
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT %s, scored.{qn('scored_id')}, scored.{qn('points')}, %s "  # noqa: S608
            f"FROM ({select_sql}) scored WHERE 1 = 1 "
            f"ON CONFLICT ({qn('model_id')}, {qn('contact_id')}) DO UPDATE SET "
            f"{qn('score')} = excluded.{qn('score')}, {qn('computed_at')} = excluded.{qn('computed_at')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [model.pk, stamp, *params])
            scored_count = max(cursor.rowcount, 0)
    return {"scored": scored_count, "removed": removed}


def lead_scores_compute_all(*, now=None) -> dict:
    totals: Counter = Counter()
    for model in ScoringModel.objects.all():
        totals.update(lead_scores_compute(model=model, now=now))
    return dict(totals)
