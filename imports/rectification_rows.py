"""Bulk rectification, one row at a time: which columns the workbook has, how a row's cells
compare with the contact, and how a change is applied through the hand edit's services (see
imports.rectification for the job around it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
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
from imports.models import Rectification
from imports.readers import FileRefused
from subscriptions.services import RequestMeta
from subscriptions.services.double_opt_in import RECIPIENT_LIMIT, consent_request_create

# The double opt-in request's origin: a back-office client acting on another system's word.
REQUEST_ORIGIN = "api"
YES = {"yes", "y", "true", "1", "allow", "ja"}
NO = {"no", "n", "false", "0", "do not allow", "nein"}
FIELD_COLUMNS = {
    **{f: c for c, f in PROFILE_COLUMNS.items()},
    "consent_given": LEVEL,
    "tracking_allowed": TRACKING,
}


class _Refused(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


@dataclass
class Columns:
    reference: int
    profile: dict[str, int]
    level: int | None
    tracking: int | None
    purposes: dict[Purpose, int]


def columns_of(header: list[str]) -> Columns:
    if REFERENCE not in header:
        raise FileRefused(
            _(
                "The file has no “%(column)s” column: export the contacts with “Export selected for correction”."
            )
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
    return Columns(
        reference=header.index(REFERENCE),
        profile={f: header.index(c) for c, f in PROFILE_COLUMNS.items() if c in header},
        level=header.index(LEVEL) if LEVEL in header else None,
        tracking=header.index(TRACKING) if TRACKING in header else None,
        purposes=purposes,
    )


@dataclass
class Outcome:
    applied: int = 0
    unchanged: int = 0
    changes: int = 0
    confirmations: int = 0
    refused: int = 0  # rows; a row can be refused for several columns
    errors: list = field(default_factory=list)  # (row, column, reason)


@dataclass
class Context:
    run: Rectification
    columns: Columns
    contacts: dict[int, Contact] = field(default_factory=dict)
    answers: dict[tuple[int, int], bool] = field(default_factory=dict)


def process_chunk(ctx: Context, chunk: list) -> Outcome:
    ids = {contact_of_reference(_cell(cells, ctx.columns.reference)) for _n, cells in chunk} - {None}
    # Only the contacts the uploader may see (restricted ones only for who handles restrictions).
    visible = contacts_visible_to(ctx.run.created_by, Contact.objects.filter(pk__in=ids))
    ctx.contacts = {c.pk: c for c in visible}
    ctx.answers = {
        (a.contact_id, a.purpose_id): a.granted
        for a in PurposeConsent.objects.filter(contact_id__in=ctx.contacts, purpose__in=ctx.columns.purposes)
    }
    outcome = Outcome()
    for number, cells in chunk:
        if not any(c.strip() for c in cells):
            continue
        try:
            with transaction.atomic():  # a savepoint: a refused row leaves the others
                changes, confirmations = _apply_row(ctx, cells)
        except _Refused as refused:
            outcome.refused += 1
            outcome.errors.append((number, refused.column, refused.reason))
            continue
        except ValidationError as error:
            outcome.refused += 1
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
    """(column, reason) per field the services refused. The report outlives the file, so a
    message quoting the cell (“+49 30 …” is not a phone number) quotes "…" instead."""
    if hasattr(error, "error_dict"):
        return [
            (FIELD_COLUMNS.get(name, ""), " ".join(_without_value(e) for e in errors))
            for name, errors in error.error_dict.items()
        ]
    return [("", " ".join(_without_value(e) for e in error.error_list))]


def _without_value(error: ValidationError) -> str:
    message = str(error.message)
    params = dict(error.params or {})
    if "value" in params:
        params["value"] = "…"
    return message % params if params else message


def _answer(text: str, column: str) -> bool | None:
    value = text.strip().lower()
    if not value:
        return None
    if value in YES:
        return True
    if value in NO:
        return False
    raise _Refused(
        column, _("Write Yes or No (Allow or Do not allow for tracking), or leave the cell empty.")
    )


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


def _apply_row(ctx: Context, cells: list[str]) -> tuple[int, int]:
    """Apply one row; returns (fields changed, confirmations asked). Raises to refuse the row."""
    columns = ctx.columns
    pk = contact_of_reference(_cell(cells, columns.reference))
    if pk is None:
        raise _Refused(REFERENCE, _("This is not a reference from an export for correction; export again."))
    contact = ctx.contacts.get(pk)
    if contact is None:
        raise _Refused(
            REFERENCE, _("No contact you may correct has this reference (erased, or not yours to see).")
        )
    profile = {
        name: _cell(cells, index)
        for name, index in columns.profile.items()
        if not _same(name, _cell(cells, index), getattr(contact, name))
    }
    if "phone" in profile:
        try:
            normalize_phone(profile["phone"])
        except ValidationError:
            # Said here, not by the model, whose message quotes the number into the report.
            raise _Refused(
                "Phone",
                _("This is not a valid phone number; write it with its country code, e.g. +49 30 1234567."),
            ) from None
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


def _consent_split(ctx: Context, contact: Contact, cells: list[str]) -> tuple[dict, dict]:
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
        raise _Refused(
            column, _("A raise of consent needs the person's confirmation by email; there is no address.")
        )
    request = consent_request_create(
        contact=contact, changes=widen, origin=REQUEST_ORIGIN, meta=RequestMeta()
    )
    if recipient_limit_reached(RECIPIENT_LIMIT, request.sent_to):
        raise _Refused(
            column, _("This address got enough confirmation emails for now; try again in an hour.")
        )
