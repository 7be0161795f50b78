"""Applying a chunk at COPY speed: the rows as tuples, checked in Python against set-based reads,
applied through consent.services.answers_apply_staged (a staging table and a few statements) and
recorded in ImportedConsent from a staging table.

It takes the chunks of the common shape, one purpose answer per row: a chunk with a consent level
or a receipt's evidence in a row, or with two rows answering for the same contact and purpose (the
second must see the first), goes the general way (imports.services.chunks), which it matches in
every outcome, refusal, message, record and seal. Nothing is written before that choice is made.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Source
from consent.rules import consent_refusal
from consent.services import AnswerGroup, answers_apply_staged
from contacts.activity import last_actions_record
from contacts.models import Contact
from contacts.suppression import suppressed_values
from core.bulk import stage_rows, staging_supported
from imports.models import ImportedConsent
from imports.services.rows import Row

_APPLIED_COLUMNS = [
    ("n", "integer"),
    ("lead", "boolean"),  # the row's first contact: one ImportedConsent per row
    ("source_key", "varchar(200)"),
    ("digest", "varchar(64)"),
    ("purpose_id", "bigint"),
    ("granted", "boolean"),
    ("effective_at", "timestamp with time zone"),
    ("contact_id", "bigint"),
]


def chunk_apply_staged(ctx, parsed: list[Row], keys: list[str], outcome) -> bool:
    """Apply the parsed rows of a chunk as _process_chunk does; False, having written nothing, when
    the chunk is not of the shape this path takes."""
    if not staging_supported() or any(r.level is not None or r.evidence is not None for r in parsed):
        return False
    existing = {
        key: (pk, digest, last_run)
        for key, pk, digest, last_run in ImportedConsent.objects.filter(
            source=ctx.source, source_key__in=keys
        ).values_list("source_key", "pk", "digest", "last_run_id")
    }
    digests = {id(r): r.digest() for r in parsed}
    todo, refused, unchanged = _rows_to_apply(ctx, parsed, existing, digests)
    by_ident = _contacts_by_ident(todo)
    ready, refused_ready = _rows_ready(ctx, todo, by_ident)
    if not _one_answer_each(ready, by_ident):
        return False
    outcome.errors += refused + refused_ready
    outcome.unchanged += unchanged
    _contacts_create_missing(ctx, ready, by_ident)
    justification_text = _("Import “%(source)s”, file %(file)s, row %(row)s")
    groups = [
        AnswerGroup(
            contact_ids=by_ident[(row.kind, row.ident)],
            purpose=row.purpose,
            granted=row.granted,
            effective_at=row.effective_at,
            justification=justification_text
            % {"source": ctx.source.name, "file": ctx.run.file_name, "row": row.number},
            evidence={
                "import_run": ctx.run.pk,
                "import_source": ctx.source.name,
                "file": ctx.run.file_name,
                "row": row.number,
                "source_key": row.key,
            },
            keep_answers_after=row.effective_at,
        )
        for row in ready
    ]
    outcomes = answers_apply_staged(
        groups=groups, source=Source.IMPORT, actor=ctx.run.created_by, channel=ctx.source.name[:64]
    )
    if outcomes is None:  # cannot happen after the checks above; the general way would write twice
        raise RuntimeError("the staged consent path declined a chunk it had accepted")
    applied = []
    for row, result in zip(ready, outcomes, strict=True):
        if isinstance(result, ValidationError):
            outcome.errors.append((row.number, row.key, "; ".join(result.messages)))
            continue
        applied.append(row)
        outcome.applied += 1
        outcome.changes += result
    _imported_consent_save(ctx, applied, by_ident, digests)
    _last_actions(applied, by_ident)
    ImportedConsent.objects.filter(source=ctx.source, source_key__in=keys).exclude(last_run=ctx.run).update(
        last_run=ctx.run
    )
    return True


def _rows_to_apply(ctx, parsed, existing, digests) -> tuple[list[Row], list, int]:
    """As chunks._rows_to_apply, on tuples: erased people refused, unchanged rows counted, keys this
    run applied already (a resume) refused."""
    suppressed = suppressed_values([(r.kind, r.ident) for r in parsed])
    todo, refused, unchanged = [], [], 0
    erased = _("This person's data was erased; their rows are refused.")
    for row in parsed:
        known = existing.get(row.key)
        if (row.kind, row.ident) in suppressed:
            refused.append((row.number, row.key, erased))
        elif known and known[1] == digests[id(row)]:
            unchanged += 1
        elif known and known[2] == ctx.run.pk:
            refused.append(
                (
                    row.number,
                    row.key,
                    _("The primary key “%(key)s” appears twice in the file.") % {"key": row.key},
                )
            )
        else:
            todo.append(row)
    return todo, refused, unchanged


def _contacts_by_ident(rows: list[Row]) -> dict[tuple[str, str], list[int]]:
    """All contacts sharing each row's address or number, in id order: rows staged, one join."""
    by_ident: dict[tuple[str, str], list[int]] = {}
    if not rows:
        return by_ident
    idents = list(dict.fromkeys((r.kind, r.ident) for r in rows))
    stage_rows("import_stage_idents", [("kind", "varchar(5)"), ("ident", "text")], idents)
    contact = connection.ops.quote_name(Contact._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 'email', c.email, c.id FROM {contact} c JOIN import_stage_idents s"  # noqa: S608
            " ON s.kind = 'email' AND c.email = s.ident"
            f" UNION ALL SELECT 'phone', c.phone, c.id FROM {contact} c JOIN import_stage_idents s"
            " ON s.kind = 'phone' AND c.phone = s.ident ORDER BY 3"
        )
        for kind, ident, pk in cursor.fetchall():
            by_ident.setdefault((kind, ident), []).append(pk)
    return by_ident


def _rows_ready(ctx, todo: list[Row], by_ident) -> tuple[list[Row], list]:
    """As chunks._rows_ready: the consent the import refuses itself, and unknown people."""
    ready, refused = [], []
    refusals: dict = {}
    for row in todo:
        key = (row.purpose.pk, row.granted)
        if key not in refusals:
            refusal = consent_refusal(source=Source.IMPORT, purposes={row.purpose: row.granted})
            refusals[key] = "" if refusal is None else "; ".join(refusal.messages)
        if refusals[key]:
            refused.append((row.number, row.key, refusals[key]))
        elif not by_ident.get((row.kind, row.ident)) and not ctx.source.create_contacts:
            refused.append((row.number, row.key, _("No contact has this email address or phone number.")))
        else:
            ready.append(row)
    return ready, refused


def _one_answer_each(ready: list[Row], by_ident) -> bool:
    """No contact and purpose answered by two rows (a new person counts by address)."""
    seen = set()
    for row in ready:
        people = by_ident.get((row.kind, row.ident)) or [(row.kind, row.ident)]
        for person in people:
            if (person, row.purpose.pk) in seen:
                return False
            seen.add((person, row.purpose.pk))
    return True


def _contacts_create_missing(ctx, ready: list[Row], by_ident) -> None:
    from imports.services.chunks import _contacts_create_missing as create

    create(ctx, ready, by_ident)


def _imported_consent_save(ctx, applied: list[Row], by_ident, digests) -> None:
    """What the source said for each applied row and which contacts it reached: staged, then one
    UPDATE, one INSERT, one DELETE and one INSERT of links."""
    if not applied:
        return
    rows = [
        (n, lead, row.key, digests[id(row)], row.purpose.pk, row.granted, row.effective_at, pk)
        for n, row in enumerate(applied)
        for lead, pk in _leading(by_ident[(row.kind, row.ident)])
    ]
    stage_rows("import_stage_applied", _APPLIED_COLUMNS, rows)
    quote = connection.ops.quote_name
    table = quote(ImportedConsent._meta.db_table)
    links = quote(ImportedConsent.contacts.through._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    source, run = ctx.source.pk, ctx.run.pk
    # Only quoted names from the models' meta are spliced in; values go through parameters.
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {links} WHERE importedconsent_id IN (SELECT ic.id FROM {table} ic"  # noqa: S608
            " JOIN import_stage_applied s ON s.lead AND ic.source_key = s.source_key WHERE ic.source_id = %s)",
            [source],
        )
        cursor.execute(
            f"UPDATE {table} SET digest = s.digest, purpose_id = s.purpose_id, granted = s.granted,"  # noqa: S608
            " level = NULL, effective_at = s.effective_at, last_run_id = %s, updated_at = %s"
            f" FROM import_stage_applied s WHERE s.lead AND {table}.source_id = %s"
            f" AND {table}.source_key = s.source_key",
            [run, now, source],
        )
        cursor.execute(
            f"INSERT INTO {table} (source_id, source_key, digest, purpose_id, granted, level,"  # noqa: S608
            " effective_at, last_run_id, updated_at)"
            " SELECT %s, s.source_key, s.digest, s.purpose_id, s.granted, NULL, s.effective_at, %s, %s"
            f" FROM import_stage_applied s WHERE s.lead AND NOT EXISTS (SELECT 1 FROM {table} ic"
            " WHERE ic.source_id = %s AND ic.source_key = s.source_key) ORDER BY s.n",
            [source, run, now, source],
        )
        cursor.execute(
            f"INSERT INTO {links} (importedconsent_id, contact_id) SELECT ic.id, s.contact_id"  # noqa: S608
            f" FROM import_stage_applied s JOIN {table} ic ON ic.source_key = s.source_key"
            " WHERE ic.source_id = %s ORDER BY s.n, s.contact_id",
            [source],
        )


def _leading(contact_ids: list[int]):
    return ((position == 0, pk) for position, pk in enumerate(contact_ids))


def _last_actions(applied: list[Row], by_ident) -> None:
    """As chunks._last_actions: the source's dates of each person's last action, in one go."""
    moments: dict[int, dt.datetime] = {}
    for row in applied:
        if row.last_action_at is None:
            continue
        for pk in by_ident[(row.kind, row.ident)]:
            moments[pk] = max(row.last_action_at, moments.get(pk, row.last_action_at))
    last_actions_record(moments=moments)
