"""Applying rows: one chunk of an export through the consent service, and withdrawing what left it.

Every consent change goes through consent_changes_apply (one call per chunk, one group per row)
with source "import" and the file and row as evidence (rule 1 of DESIGN.md). The caller holds the
transaction: a chunk's changes, its refused rows and the run's progress commit together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from consent.models import Purpose, Source
from consent.rules import consent_refusal
from consent.services import AppliedChanges, ConsentWish, consent_changes_apply
from contacts.activity import last_actions_record
from contacts.models import Contact
from contacts.services import contacts_create
from contacts.suppression import suppressed_values
from core.bulk import bulk_insert, bulk_set
from core.safe_json import text_problem
from imports.models import ImportedConsent, ImportRun, ImportSource
from imports.services.rows import Row, RowRefused, _parse_row
from imports.services.staged import chunk_apply_staged

Error = tuple[int, str, str]  # (row, key, reason)
Idents = dict[tuple[str, str], list[int]]  # (kind, identifier) -> ids of the contacts sharing it


@dataclass
class _Context:
    run: ImportRun
    source: ImportSource
    index: dict[str, int]
    now: dt.datetime
    purposes: dict[str, Purpose] = field(default_factory=dict)
    seen_keys: set[str] = field(default_factory=set)

    def purpose_for(self, option: str) -> Purpose:
        if option in self.purposes:
            return self.purposes[option]
        wanted = self.source.option_map.get(option, option)
        purpose = (
            Purpose.objects.filter(slug=wanted).first() or Purpose.objects.filter(name__iexact=wanted).first()
        )
        if purpose is None and self.source.unknown_options == ImportSource.UnknownOptions.CREATE:
            if len(option) > 100:
                raise RowRefused(_("The consent option is longer than 100 characters."))
            slug = (slugify(option) or "option")[:90]
            if Purpose.objects.filter(slug=slug).exists():
                slug = f"{slug}-{hashlib.sha256(option.encode()).hexdigest()[:8]}"
            purpose = Purpose.objects.create(name=option, slug=slug, description="")
        if purpose is None:
            raise RowRefused(_("Unknown consent option “%(option)s”.") % {"option": option[:100]})
        self.purposes[option] = purpose
        return purpose


@dataclass
class _Outcome:
    applied: int = 0
    unchanged: int = 0
    changes: int = 0
    withdrawn: int = 0
    errors: list[Error] = field(default_factory=list)


def _process_chunk(ctx: _Context, chunk: list[tuple[int, list[str]]]) -> _Outcome:
    """Apply one chunk of rows, set-based. Call inside a transaction; a refused row changes nothing."""
    outcome = _Outcome()
    parsed = _parse_chunk(ctx, chunk, outcome)
    # Keys refused above still count as present in the export: their consent is not withdrawn.
    keys = [number_key for _n, number_key, _r in outcome.errors if number_key] + [r.key for r in parsed]
    if chunk_apply_staged(ctx, parsed, keys, outcome):  # the common shape, at COPY speed
        outcome.errors.sort()
        return outcome
    existing = {
        ic.source_key: ic for ic in ImportedConsent.objects.filter(source=ctx.source, source_key__in=keys)
    }
    todo = _rows_to_apply(ctx, parsed, existing, outcome)
    by_ident = _contacts_by_ident(todo)
    ready = _rows_ready(ctx, todo, by_ident, outcome)
    _contacts_create_missing(ctx, ready, by_ident)
    groups = _wish_groups(ctx, ready, by_ident)
    # One row is one group: all its contacts change, or the row is refused whole. A contact whose
    # answer is newer than the row keeps it (a withdrawal in the admin survives an old export);
    # the service checks that under its lock, against the rows of this chunk applied before.
    applied = consent_changes_apply(
        groups=groups, source=Source.IMPORT, actor=ctx.run.created_by, channel=ctx.source.name[:64]
    )
    _applied_record(ctx, ready, by_ident, applied, existing, outcome)
    _last_actions(ready, by_ident, applied)
    # Mark every other key of the chunk as present in this export (unchanged and refused ones).
    ImportedConsent.objects.filter(source=ctx.source, source_key__in=keys).exclude(last_run=ctx.run).update(
        last_run=ctx.run
    )
    outcome.errors.sort()
    return outcome


def _last_actions(ready: list[Row], by_ident: Idents, applied: AppliedChanges) -> None:
    """The source's dates of each person's last action (a purchase), for the chunk in one go."""
    moments: dict[int, dt.datetime] = {}
    for row, result in zip(ready, applied.outcomes, strict=True):
        if row.last_action_at is None or isinstance(result, ValidationError):
            continue
        for pk in by_ident[(row.kind, row.ident)]:
            moments[pk] = max(row.last_action_at, moments.get(pk, row.last_action_at))
    last_actions_record(moments=moments)


def _parse_chunk(ctx: _Context, chunk: list[tuple[int, list[str]]], outcome: _Outcome) -> list[Row]:
    """Parse each row and find its purpose; a refused row goes to the report with its key."""
    parsed: list[Row] = []
    for number, cells in chunk:
        try:
            row = _parse_row(number, cells, ctx.index, ctx.now)
            if row.key in ctx.seen_keys:
                raise RowRefused(_("The primary key “%(key)s” appears twice in the file.") % {"key": row.key})
            ctx.seen_keys.add(row.key)
            row.purpose = ctx.purpose_for(row.option)
            parsed.append(row)
        except RowRefused as refusal:
            key = cells[ctx.index["key"]].strip()[:200] if ctx.index["key"] < len(cells) else ""
            key = "" if text_problem(key) else key  # the report cannot store it either
            outcome.errors.append((number, key, str(refusal)))
    return parsed


def _rows_to_apply(
    ctx: _Context, parsed: list[Row], existing: dict[str, ImportedConsent], outcome: _Outcome
) -> list[Row]:
    """Leave out erased people, rows the source said before unchanged, and keys applied already."""
    # After a resume, a key already marked by this run was in a chunk committed before the crash.
    repeated = {k for k, ic in existing.items() if ic.last_run_id == ctx.run.pk}
    suppressed = suppressed_values([(r.kind, r.ident) for r in parsed])
    todo: list[Row] = []
    for row in parsed:
        if (row.kind, row.ident) in suppressed:
            outcome.errors.append(
                (row.number, row.key, _("This person's data was erased; their rows are refused."))
            )
        elif existing.get(row.key) and existing[row.key].digest == row.digest():
            outcome.unchanged += 1
        elif row.key in repeated:
            outcome.errors.append(
                (
                    row.number,
                    row.key,
                    _("The primary key “%(key)s” appears twice in the file.") % {"key": row.key},
                )
            )
        else:
            todo.append(row)
    return todo


def _contacts_by_ident(rows: list[Row]) -> Idents:
    """One query per identifier kind for the whole chunk: all contacts sharing each address."""
    by_ident: Idents = {}
    for kind in ("email", "phone"):
        wanted = {r.ident for r in rows if r.kind == kind}
        if wanted:
            found = Contact.objects.filter(**{f"{kind}__in": wanted}).order_by("pk").values_list("pk", kind)
            for pk, ident in found:
                by_ident.setdefault((kind, ident), []).append(pk)
    return by_ident


def _consent_problems(row: Row) -> list[str]:
    """What the import itself refuses in a row's consent before anyone is created for it.

    The rule itself is consent.rules' (here: no grant of a retired purpose). The purpose's existence is settled when the row's option is resolved (_Context.purpose_for:
    an unknown option is refused, or creates the purpose where the source says so); the child
    maximum and the sources allowed to raise are checked by consent_changes_apply under its lock.
    """
    refusal = consent_refusal(source=Source.IMPORT, purposes={row.purpose: row.granted})
    return [] if refusal is None else list(refusal.messages)


def _rows_ready(ctx: _Context, todo: list[Row], by_ident: Idents, outcome: _Outcome) -> list[Row]:
    """The rows that may go to the consent service: consent allowed, and a contact or one to make."""
    # A row for a new person can only be refused earlier (_parse_chunk, _rows_to_apply) or for its
    # consent, checked here before anyone is made.
    ready = []
    for row in todo:
        if problems := _consent_problems(row):
            outcome.errors.append((row.number, row.key, "; ".join(problems)))
        elif not by_ident.get((row.kind, row.ident)) and not ctx.source.create_contacts:
            outcome.errors.append(
                (row.number, row.key, _("No contact has this email address or phone number."))
            )
        else:
            ready.append(row)
    return ready


def _contacts_create_missing(ctx: _Context, ready: list[Row], by_ident: Idents) -> None:
    """Addresses nobody has yet: one insert for the chunk's new people, added to by_ident."""
    new_people = list(dict.fromkeys((r.kind, r.ident) for r in ready if not by_ident.get((r.kind, r.ident))))
    created = contacts_create(
        people=[{kind: ident} for kind, ident in new_people],
        actor=ctx.run.created_by,
        reason=f"import {ctx.run.pk}",
    )
    for key, contact in zip(new_people, created, strict=True):
        by_ident[key] = [contact.pk]


def _wish_groups(ctx: _Context, ready: list[Row], by_ident: Idents) -> list[list[ConsentWish]]:
    """One group per row: its answer for every contact sharing its address, file and row as evidence."""
    # Translated once: the same words for every row.
    justification_text = _("Import “%(source)s”, file %(file)s, row %(row)s")
    groups = []
    for row in ready:
        justification = justification_text % {
            "source": ctx.source.name,
            "file": ctx.run.file_name,
            "row": row.number,
        }
        evidence = {
            "import_run": ctx.run.pk,
            "import_source": ctx.source.name,
            "file": ctx.run.file_name,
            "row": row.number,
            "source_key": row.key,
        }
        if row.evidence:  # a receipt's own record: its identifier, when it was recorded, its seal
            evidence["receipt"] = row.evidence
        groups.append(
            [
                ConsentWish(
                    contact_id=pk,
                    purposes={row.purpose: row.granted},
                    level=row.level,
                    justification=justification,
                    evidence=evidence,
                    effective_at=row.effective_at,
                    keep_answers_after=row.effective_at,
                )
                for pk in by_ident[(row.kind, row.ident)]
            ]
        )
    return groups


def _applied_record(
    ctx: _Context,
    ready: list[Row],
    by_ident: Idents,
    applied: AppliedChanges,
    existing: dict[str, ImportedConsent],
    outcome: _Outcome,
) -> None:
    """Count each row's result; keep what the source said for the applied ones, report the refused."""
    records, links = [], []
    for row, result in zip(ready, applied.outcomes, strict=True):
        if isinstance(result, ValidationError):
            outcome.errors.append((row.number, row.key, "; ".join(result.messages)))
            continue
        record = existing.get(row.key) or ImportedConsent(source=ctx.source, source_key=row.key)
        record.digest, record.purpose, record.granted = row.digest(), row.purpose, row.granted
        record.level, record.effective_at, record.last_run = row.level, row.effective_at, ctx.run
        records.append(record)
        links.append(by_ident[(row.kind, row.ident)])
        outcome.applied += 1
        outcome.changes += len(result)
    _imported_consent_save(records, links)


def _imported_consent_save(records: list[ImportedConsent], links: list[list[int]]) -> None:
    """Store what the source said for each applied row, and which contacts it reached."""
    now = timezone.now()
    known = [r for r in records if r.pk is not None]
    for record in known:
        record.updated_at = now
    bulk_set(
        ImportedConsent,
        known,
        ["digest", "purpose", "granted", "level", "effective_at", "last_run", "updated_at"],
    )
    bulk_insert(ImportedConsent, [r for r in records if r.pk is None])
    through = ImportedConsent.contacts.through
    through.objects.filter(importedconsent_id__in=[r.pk for r in known]).delete()
    bulk_insert(
        through,
        [
            through(importedconsent_id=record.pk, contact_id=pk)
            for record, contact_ids in zip(records, links, strict=True)
            for pk in contact_ids
        ],
    )


def _withdraw_removed(ctx: _Context, *, limit: int | None = None) -> _Outcome:
    """Consent imported earlier whose row has left the export: withdraw it (or keep, as mapped)."""
    outcome = _Outcome()
    if ctx.source.removed_consent != ImportSource.RemovedConsent.WITHDRAW:
        return outcome
    gone = (
        ImportedConsent.objects.filter(source=ctx.source)
        .exclude(last_run=ctx.run)
        .select_related("purpose")
        .prefetch_related("contacts")
        .order_by("pk")
    )
    gone = list(gone[:limit] if limit else gone)
    groups = []
    for record in gone:
        groups += _withdrawal_wishes(ctx, record)
    applied = consent_changes_apply(
        groups=groups, source=Source.IMPORT, actor=ctx.run.created_by, channel=ctx.source.name[:64]
    )
    for result in applied.outcomes:
        if isinstance(result, ValidationError):
            if result.code == "older":  # a newer answer stays: nothing to withdraw
                continue
            raise result  # withdrawing narrows: nothing else refuses it
        outcome.changes += len(result)
    ImportedConsent.objects.filter(pk__in=[record.pk for record in gone]).delete()
    outcome.withdrawn = len(gone)
    return outcome


def _withdrawal_wishes(ctx: _Context, record: ImportedConsent) -> list[list[ConsentWish]]:
    """One group per contact the gone row reached: the imported answer withdrawn, with evidence."""
    evidence = {
        "import_run": ctx.run.pk,
        "import_source": ctx.source.name,
        "file": ctx.run.file_name,
        "removed_from_export": True,
        "source_key": record.source_key,
    }
    justification = _("Import “%(source)s”: key %(key)s is no longer in the export %(file)s") % {
        "source": ctx.source.name,
        "key": record.source_key,
        "file": ctx.run.file_name,
    }
    return [
        [
            ConsentWish(
                contact_id=c.pk,
                purposes={record.purpose: False},
                justification=justification,
                evidence=evidence,
                # Only answers that still are the imported one: a newer answer through another
                # channel (the subscription center, the admin) is the person's choice and stays.
                keep_answers_after=record.effective_at,
            )
        ]
        for c in record.contacts.all()
    ]
