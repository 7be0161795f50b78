"""Bulk rectification (GDPR Art. 16): an officer uploads the workbook the contact list exported for
correction (consent.rectification_sheet), and each changed field goes through the services a hand
edit uses: profile fields through consent.contact_edits.contact_save_with_consent (history with
the file's reason, downstream systems told), identities checked as the API checks them (erased
persons, duplicate addresses). Consent that narrows is changed through consent_change; consent
that widens is never applied from a file: it starts a double opt-in request, like every other
raise that did not come from the person (GDPR Art. 7(1): consent the controller can demonstrate).

Run as a job like an import: in committed chunks with the run's progress (apply-valid-rows), or in
one transaction that one refused row rolls back (all-or-nothing). Rows that change nothing write
nothing. The upload is personal data: registered in imports.privacy, deleted when the run is done
and purged after the retention period otherwise (imports.rectification_files)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from consent.contact_edits import contact_save_with_consent
from consent.models import Purpose, PurposeConsent, Source
from consent.rectification_sheet import (
    LEVEL,
    PROFILE_COLUMNS,
    PURPOSE_COLUMN,
    REFERENCE,
    TRACKING,
    contact_of_reference,
    purpose_column,
)
from contacts.models import Contact
from contacts.selectors import contacts_visible_to
from contacts.services import contact_identity_check
from core.locks import lock_name
from core.normalize import normalize_email, normalize_phone
from core.security import recipient_limit_reached
from imports.models import Rectification, RectificationRowError
from imports.readers import FileRefused, Table, open_table, sha256_of
from subscriptions.services import RequestMeta
from subscriptions.services.double_opt_in import RECIPIENT_LIMIT, consent_request_create

log = logging.getLogger(__name__)
Status = Rectification.Status
PERMISSION = "contacts.rectify_contact"
MAX_REASON = 2000
# The double opt-in request's origin: a back-office client acting on another system's word.
REQUEST_ORIGIN = "api"
YES = {"yes", "y", "true", "1", "allow", "ja"}
NO = {"no", "n", "false", "0", "do not allow", "nein"}
FIELD_COLUMNS = {**{f: c for c, f in PROFILE_COLUMNS.items()}, "consent_given": LEVEL, "tracking_allowed": TRACKING}


class _Refused(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


class _Superseded(Exception):
    """Another worker advanced this run meanwhile (a duplicate delivery): this one stops."""


# --- starting ------------------------------------------------------------------------------


def rectification_start(*, file, file_name: str, reason: str, mode: str, actor) -> Rectification:
    """Check and store the uploaded workbook and queue its run (once this transaction commits).
    A file that is no readable workbook of contacts to correct is refused whole, nothing stored."""
    from imports.tasks import run_rectification

    if not actor.has_perm(PERMISSION):
        raise ValidationError(_("You may not correct contacts in bulk."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why these contacts are corrected; it is kept in their history.")})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": _("Use at most %(n)s characters for the reason.") % {"n": MAX_REASON}})
    if mode not in Rectification.Mode.values:
        raise ValidationError({"mode": _("Choose all-or-nothing or apply-valid-rows.")})
    limit = settings.IMPORT_MAX_FILE_MB * 1024 * 1024
    if getattr(file, "size", 0) and file.size > limit:
        raise ValidationError(
            {"file": _("The file is larger than %(limit)s MB.") % {"limit": settings.IMPORT_MAX_FILE_MB}}
        )
    run = Rectification(file_name=file_name[:255], reason=reason, mode=mode, created_by=actor)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    run.file.save(f"{stamp}-{get_valid_filename(Path(file_name).name) or 'upload'}", file, save=False)
    try:
        table = _open(run.file.path)
        table.rows.close()
    except FileRefused as refusal:
        run.file.storage.delete(run.file.name)
        raise ValidationError({"file": str(refusal)}) from None
    try:
        with transaction.atomic():
            run.file_sha256 = sha256_of(run.file.path)
            run.save()
            transaction.on_commit(lambda: run_rectification.delay(run.pk))
    except BaseException:
        run.file.storage.delete(run.file.name)
        raise
    return run


@dataclass
class _Columns:
    reference: int
    profile: dict[str, int]
    level: int | None
    tracking: int | None
    purposes: dict[Purpose, int]


@dataclass
class _Table:
    rows: object
    columns: _Columns


def _open(path) -> _Table:
    table: Table = open_table(path)
    if table.kind != "xlsx":
        raise FileRefused(
            _("Upload the Excel file (.xlsx) exported with “Export selected for correction”, corrected.")
        )
    return _Table(table.rows, _columns(table.header))


def _columns(header: list[str]) -> _Columns:
    if REFERENCE not in header:
        raise FileRefused(
            _("The file has no “%(column)s” column: export the contacts with “Export selected for correction”.")
            % {"column": REFERENCE}
        )
    purposes, unknown = {}, []
    slugs = {p.slug: p for p in Purpose.objects.all()}
    for index, name in enumerate(header):
        if match := PURPOSE_COLUMN.match(name):
            if match.group(1) in slugs:
                purposes[slugs[match.group(1)]] = index
            else:
                unknown.append(name)
    if unknown:
        raise FileRefused(_("These columns name no purpose: %(columns)s.") % {"columns": ", ".join(unknown)})
    return _Columns(
        reference=header.index(REFERENCE),
        profile={f: header.index(c) for c, f in PROFILE_COLUMNS.items() if c in header},
        level=header.index(LEVEL) if LEVEL in header else None,
        tracking=header.index(TRACKING) if TRACKING in header else None,
        purposes=purposes,
    )


# --- running -------------------------------------------------------------------------------


@dataclass
class _Outcome:
    applied: int = 0
    unchanged: int = 0
    changes: int = 0
    confirmations: int = 0
    errors: list = field(default_factory=list)  # (row, column, reason)


@dataclass
class _Context:
    run: Rectification
    columns: _Columns
    contacts: dict[int, Contact] = field(default_factory=dict)
    answers: dict[tuple[int, int], bool] = field(default_factory=dict)


def rectification_process(*, run_id: int) -> Rectification:
    """Run (or continue) a rectification. Safe to call again after a crash or a duplicate delivery."""
    with transaction.atomic():
        run = Rectification.objects.select_for_update().select_related("created_by").get(pk=run_id)
        if run.status in (Status.DONE, Status.FAILED):
            return run
        run.status, run.heartbeat_at = Status.RUNNING, timezone.now()
        run.started_at = run.started_at or run.heartbeat_at
        run.save(update_fields=["status", "started_at", "heartbeat_at"])
    try:
        if run.created_by is None or not run.created_by.has_perm(PERMISSION):
            raise FileRefused(_("The person who uploaded this file may no longer correct contacts in bulk."))
        if run.total_rows is None:
            total = sum(1 for _row in _stored(run).rows)
            Rectification.objects.filter(pk=run.pk).update(total_rows=total)
            run.total_rows = total
        table = _stored(run)
        ctx = _Context(run=run, columns=table.columns)
        if run.mode == Rectification.Mode.ALL_OR_NOTHING:
            _run_all_or_nothing(ctx, table.rows)
        else:
            _run_valid_rows(ctx, table.rows)
    except _Superseded:
        log.info("rectification %s: superseded by another worker", run_id)
    except FileRefused as refusal:
        _fail(run_id, str(refusal))
    except Exception:
        log.exception("rectification %s failed", run_id)
        _fail(run_id, _("The rectification stopped on an unexpected error; ask the administrator."))
        raise
    run.refresh_from_db()
    if run.status == Status.DONE and run.file:
        # Data minimisation: a finished run never reads the file again.
        run.file.storage.delete(run.file.name)
        Rectification.objects.filter(pk=run.pk).update(file="")
    return run


def _stored(run: Rectification) -> _Table:
    try:
        digest = sha256_of(run.file.path)
    except (ValueError, OSError):
        raise FileRefused(_("The uploaded file is no longer stored; upload it again.")) from None
    if digest != run.file_sha256:
        raise FileRefused(_("The stored file changed since the upload; upload it again."))
    return _open(run.file.path)


def _fail(run_id: int, message: str) -> None:
    Rectification.objects.filter(pk=run_id).update(status=Status.FAILED, error=message, finished_at=timezone.now())


def _chunks(iterator, size):
    while batch := list(islice(iterator, size)):
        yield batch


def _lock_at(run: Rectification, expected_next: int) -> Rectification:
    locked = Rectification.objects.select_for_update().get(pk=run.pk)
    if locked.status != Status.RUNNING or locked.next_row != expected_next:
        raise _Superseded
    return locked


def _save_errors(run: Rectification, errors) -> None:
    RectificationRowError.objects.bulk_create(
        [RectificationRowError(rectification=run, row=n, column=c, reason=r) for n, c, r in errors],
        batch_size=1000,
    )


COUNTERS = ("applied", "unchanged", "changes", "confirmations")


def _add(locked: Rectification, outcome: _Outcome) -> None:
    locked.applied_rows += outcome.applied
    locked.unchanged_rows += outcome.unchanged
    locked.changes += outcome.changes
    locked.confirmations += outcome.confirmations
    locked.refused_rows += len(outcome.errors)


SAVED = ["next_row", "applied_rows", "unchanged_rows", "changes", "confirmations", "refused_rows", "heartbeat_at"]


def _run_valid_rows(ctx: _Context, rows) -> None:
    run, done = ctx.run, ctx.run.next_row
    for chunk in _chunks(islice(rows, done, None), settings.IMPORT_CHUNK_ROWS):
        with transaction.atomic():
            locked = _lock_at(run, done)
            outcome = _process_chunk(ctx, chunk)
            _save_errors(run, outcome.errors)
            done += len(chunk)
            locked.next_row, locked.heartbeat_at = done, timezone.now()
            _add(locked, outcome)
            locked.save(update_fields=SAVED)
    Rectification.objects.filter(pk=run.pk, status=Status.RUNNING).update(
        status=Status.DONE, finished_at=timezone.now()
    )


def _run_all_or_nothing(ctx: _Context, rows) -> None:
    run, total = ctx.run, _Outcome()
    with transaction.atomic():
        locked = _lock_at(run, 0)
        for chunk in _chunks(rows, settings.IMPORT_CHUNK_ROWS):
            outcome = _process_chunk(ctx, chunk)
            for name in COUNTERS:
                setattr(total, name, getattr(total, name) + getattr(outcome, name))
            total.errors += outcome.errors
        if not total.errors:
            locked.next_row, locked.heartbeat_at = run.total_rows or 0, timezone.now()
            _add(locked, total)
            locked.status, locked.finished_at = Status.DONE, timezone.now()
            locked.save(update_fields=[*SAVED, "status", "finished_at"])
            return
        transaction.set_rollback(True)  # one refused row: nothing of this file is applied
    with transaction.atomic():
        _save_errors(run, total.errors)
        Rectification.objects.filter(pk=run.pk).update(
            status=Status.FAILED,
            finished_at=timezone.now(),
            refused_rows=len(total.errors),
            error=_("%(count)s rows were refused, so nothing was corrected (all or nothing).")
            % {"count": len(total.errors)},
        )


def _process_chunk(ctx: _Context, chunk: list) -> _Outcome:
    ids = {contact_of_reference(_cell(cells, ctx.columns.reference)) for _n, cells in chunk} - {None}
    # Only the contacts the uploader may see (restricted ones only for who handles restrictions).
    visible = contacts_visible_to(ctx.run.created_by, Contact.objects.filter(pk__in=ids))
    ctx.contacts = {c.pk: c for c in visible}
    ctx.answers = {
        (a.contact_id, a.purpose_id): a.granted
        for a in PurposeConsent.objects.filter(contact_id__in=ctx.contacts, purpose__in=ctx.columns.purposes)
    }
    outcome = _Outcome()
    for number, cells in chunk:
        if not any(c.strip() for c in cells):
            continue
        try:
            with transaction.atomic():  # a savepoint: a refused row leaves the others
                changes, confirmations = _apply_row(ctx, cells)
        except _Refused as refused:
            outcome.errors.append((number, refused.column, refused.reason))
            continue
        except ValidationError as error:
            outcome.errors += [(number, column, reason) for column, reason in _reasons(error)]
            continue
        if changes or confirmations:
            outcome.applied += 1
            outcome.changes += changes
            outcome.confirmations += confirmations
        else:
            outcome.unchanged += 1
    return outcome


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _reasons(error: ValidationError) -> list[tuple[str, str]]:
    if hasattr(error, "error_dict"):
        return [
            (FIELD_COLUMNS.get(name, ""), " ".join(messages)) for name, messages in error.message_dict.items()
        ]
    return [("", " ".join(error.messages))]


def _answer(text: str, column: str) -> bool | None:
    value = text.strip().lower()
    if not value:
        return None
    if value in YES:
        return True
    if value in NO:
        return False
    raise _Refused(column, _("Write Yes or No (Allow or Do not allow for tracking), or leave the cell empty."))


def _level(text: str) -> int | None:
    if not text:
        return None
    if text.isdigit() and 0 <= int(text) <= 5:
        return int(text)
    raise _Refused(LEVEL, _("Use a consent level from 0 to 5, or leave the cell empty."))


def _same(name: str, value: str, stored: str) -> bool:
    """Whether a cell says what is stored, once normalised as the contact would store it."""
    try:
        if name == "email":
            return (normalize_email(value) if value else "") == stored
        if name == "phone":
            return normalize_phone(value) == stored
    except ValidationError:
        return False  # the service refuses it with the field's message
    if name == "country":
        return value.upper() == stored
    return value == (stored or "").strip()


def _apply_row(ctx: _Context, cells: list[str]) -> tuple[int, int]:
    """Apply one row; returns (fields changed, confirmations asked). Raises to refuse the row."""
    columns = ctx.columns
    pk = contact_of_reference(_cell(cells, columns.reference))
    if pk is None:
        raise _Refused(REFERENCE, _("This is not a reference from an export for correction; export again."))
    contact = ctx.contacts.get(pk)
    if contact is None:
        raise _Refused(REFERENCE, _("No contact you may correct has this reference (erased, or not yours to see)."))
    profile = {
        name: _cell(cells, index)
        for name, index in columns.profile.items()
        if not _same(name, _cell(cells, index), getattr(contact, name))
    }
    narrow, widen = _consent_split(ctx, contact, cells)
    if not (profile or narrow or widen):
        return 0, 0
    if profile or narrow:
        email, phone = profile.get("email", ""), profile.get("phone", "")
        try:
            normalised = normalize_email(email)
        except ValidationError:
            normalised = ""
        if normalised:
            lock_name("contact-email", normalised)  # two rows or requests giving one address
        contact_identity_check(email=email, phone=phone, contact=contact)
        run = ctx.run
        contact = contact_save_with_consent(
            contact=contact,
            profile=profile,
            consent=narrow,
            level_before=contact.consent_given,
            actor=run.created_by,
            reason=run.reason,
            source=Source.IMPORT,
            justification=run.reason,
            channel="rectification",
        )
        ctx.contacts[pk] = contact
        for purpose, granted in narrow.get("purposes", {}).items():
            ctx.answers[(pk, purpose.pk)] = granted
    if widen:
        _ask(contact, widen)
    changed = len(profile) + sum(len(v) if isinstance(v, dict) else 1 for v in narrow.values())
    return changed, 1 if widen else 0


def _consent_split(ctx: _Context, contact: Contact, cells: list[str]) -> tuple[dict, dict]:
    """consent_change arguments for what narrows; a double opt-in request's changes for what widens."""
    columns, narrow, widen = ctx.columns, {}, {}
    level = _level(_cell(cells, columns.level))
    if level is not None and level < contact.consent_given:
        narrow["level"] = level
    elif level is not None and level > contact.consent_given:
        widen["level"] = level
    tracking = _answer(_cell(cells, columns.tracking), TRACKING)
    if tracking is False and contact.tracking_allowed:
        narrow["tracking_allowed"] = False
    elif tracking is True and not contact.tracking_allowed:
        widen["tracking"] = True
    for purpose, index in columns.purposes.items():
        column = purpose_column(purpose)
        granted = _answer(_cell(cells, index), column)
        before = ctx.answers.get((contact.pk, purpose.pk))
        if granted is False and before is not False:
            narrow.setdefault("purposes", {})[purpose] = False
        elif granted is True and before is not True:
            widen.setdefault("purposes", {})[purpose.slug] = True
    return narrow, widen


def _ask(contact: Contact, widen: dict) -> None:
    """A raise in the file asks the person (a child's guardian) to confirm it: nothing is raised."""
    column = LEVEL if "level" in widen else TRACKING if "tracking" in widen else ""
    if contact.processing_restricted:
        raise _Refused(
            column,
            _("Processing of this contact is restricted (GDPR Art. 18): no confirmation email is sent."),
        )
    if not contact.is_child and not contact.email:
        raise _Refused(column, _("A raise of consent needs the person's confirmation by email; there is no address."))
    request = consent_request_create(contact=contact, changes=widen, origin=REQUEST_ORIGIN, meta=RequestMeta())
    if recipient_limit_reached(RECIPIENT_LIMIT, request.sent_to):
        raise _Refused(column, _("This address got enough confirmation emails for now; try again in an hour."))
