"""The residue scan: after an erasure, look through every table, history tables included, and
every file under the product's folders (inside ZIP archives, workbooks, CSV and JSON), for the
erased person's email address, phone number or name, and say where any is left.

An independent check of the erasure (GDPR Art. 5(2), accountability): it does not trust the
registry, it reads every text column of every model Django knows and every file the product could
have written, so a forgotten copy shows up. The report names every place it searched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Cast

from core.batches import batch_size
from core.db_router import replica_reads
from core.filescan import MIN_NAME_PART, Identity, file_hits, record_mentions, walk

__all__ = ["Identity", "ResidueReport", "file_roots", "residue_scan", "residue_scans"]

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


@dataclass
class ResidueReport:
    tables_scanned: int = 0
    files_scanned: int = 0
    folders: list[str] = field(default_factory=list)  # every folder searched, files below included
    # Tables: {"table", "column", "found", "rows"}; files: {"file", "member", "found", "rows"}.
    hits: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # files that could not be read: not clean

    @property
    def clean(self) -> bool:
        return not self.hits and not self.errors

    def as_json(self) -> dict:
        return {
            "tables_scanned": self.tables_scanned,
            "files_scanned": self.files_scanned,
            "folders": self.folders,
            "hits": self.hits,
            "errors": self.errors,
        }


FILE_SETTINGS = ("VAR_DIR", "MEDIA_ROOT", "IMPORT_DROP_DIR")


def _folders() -> list[tuple[str, Path]]:
    return [
        (name, Path(value).resolve()) for name in FILE_SETTINGS if (value := getattr(settings, name, None))
    ]


def file_roots() -> list[tuple[str, Path]]:
    """The folders the product writes to or reads personal data from, by setting name; a folder
    inside another (MEDIA_ROOT lies in VAR_DIR by default) is walked once, as part of the outer."""
    roots: list[tuple[str, Path]] = []
    folders = _folders()
    for name, path in folders:
        nested = any(other in path.parents for _n, other in folders)
        if not nested and all(path != root for _n, root in roots):
            roots.append((name, path))
    return roots


def _variants(value: str) -> set[str]:
    # JSON columns may store non-ASCII text escaped (\u00fc), so look for that spelling too.
    return {value, json.dumps(value)[1:-1]}


def _text_columns(model) -> list[str]:
    return [
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, TEXT_FIELDS) and not f.choices and not f.primary_key
    ]


def _contains(column: str, values: set[str]) -> Q:
    q = Q()
    for value in values:
        q |= Q(**{f"_scan_{column}__icontains": value})
    return q


def residue_scan(identities: list[Identity], *, files: bool = True) -> ResidueReport:
    """Count, per table and column and per file, the rows still holding any of these identities.

    A name counts only when its first and last part appear in one row (any columns) or one record
    of a file, so another "Anna" is not reported; email addresses and phone numbers count
    wherever they appear. files=False scans the tables only.
    """
    return residue_scans([identities], files=files)[0]


def residue_scans(groups: list[list[Identity]], *, files: bool = True) -> list[ResidueReport]:
    """One report per group of identities (one erasure each), from a single pass over every table
    and file: at ten million contacts one pass takes minutes, so erasures waiting for their scan
    share it (dsr.residue_queue). A hit counts for the group whose identity it matched."""
    reports = [ResidueReport() for _group in groups]
    _scan_tables(groups, reports)
    if files:
        _scan_files(groups, reports)
    return reports


def _scan_files(groups: list[list[Identity]], reports: list[ResidueReport]) -> None:
    static = Path(settings.STATIC_ROOT) if getattr(settings, "STATIC_ROOT", None) else None
    roots = file_roots()
    counts = {}
    for name, root in roots:
        counts[root] = 0
        for path in walk(root, skip=[static] if static else []):
            counts[root] += 1
            for identities, report in zip(groups, reports, strict=True):
                report.files_scanned += 1
                _scan_file(name, root, path, identities, report)
    folders = []
    for name, path in _folders():
        outer = next(((n, r) for n, r in roots if r == path or r in path.parents), (name, path))
        if outer[0] == name:
            folders.append(f"{name} ({path}): {counts.get(path, 0)} files")
        else:
            folders.append(f"{name} ({path}): walked within {outer[0]}")
    for report in reports:
        report.folders = list(folders)


def _scan_file(name: str, root: Path, path: Path, identities: list[Identity], report: ResidueReport) -> None:
    where = f"{name}/{path.relative_to(root)}"
    named = {what for identity in identities for what in record_mentions([where], identity)}
    if named:  # the file's own name (an upload called after the person): not repeated here
        where = f"{name}/{path.parent.relative_to(root)}/(a file named after the person)"
        report.hits += [{"file": where, "member": "", "found": w, "rows": 1} for w in sorted(named)]
    try:
        hits = file_hits(path, identities)
    except Exception as error:  # an unreadable file is reported, never taken for clean
        report.errors.append(f"{where}: {type(error).__name__}")
        return
    for (member, what), count in sorted(hits.items()):
        report.hits.append({"file": where, "member": member, "found": what, "rows": count})


def _scan_tables(groups: list[list[Identity]], reports: list[ResidueReport]) -> None:
    # Every table, read from the replica once it has replayed the erasure this context committed
    # (catch_up); from the primary if it lags behind or none is set (core.db_router).
    with replica_reads(catch_up=True):
        _scan_each_table(groups, reports)


def _scan_each_table(groups: list[list[Identity]], reports: list[ResidueReport]) -> None:
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        columns = _text_columns(model)
        if not columns:
            continue
        for report in reports:
            report.tables_scanned += 1
        rows = model._default_manager.annotate(**{f"_scan_{c}": Cast(c, models.TextField()) for c in columns})
        # One pass over the table: a filtered count per (group, identity, what, column).
        counts, meaning = {}, {}
        for number, identities in enumerate(groups):
            for identity in identities:
                for label, column, condition in _conditions(identity, columns):
                    key = f"c{len(counts)}"
                    counts[key] = Count("pk", filter=condition)
                    meaning[key] = (number, label, column)
        if not counts:
            continue
        for key, found in _counted(model, rows, counts).items():
            if found:
                number, label, column = meaning[key]
                reports[number].hits.append(
                    {"table": model._meta.db_table, "column": column, "found": label, "rows": found}
                )


def _conditions(identity: Identity, columns: list[str]):
    """(what, column, condition) for each thing of this identity to count in a table's rows."""
    for label, value in (
        ("email", identity.email),
        ("phone", identity.phone),
        ("username", identity.username),
    ):
        if value:
            for column in columns:
                yield label, column, _contains(column, _variants(value))
    first, last = identity.first_name.strip(), identity.last_name.strip()
    if len(first) >= MIN_NAME_PART and len(last) >= MIN_NAME_PART:
        has_first, has_last = Q(), Q()
        for column in columns:
            has_first |= _contains(column, _variants(first))
            has_last |= _contains(column, _variants(last))
        yield "name", ", ".join(columns), has_first & has_last


def _counted(model, rows, counts: dict) -> dict:
    """The filtered counts over the whole table, one range of primary keys at a time
    (LONG_JOB_BATCH_SIZE): at scale one pass over a big table was one statement holding its
    snapshot for minutes. A table keyed by anything but a number is read in one pass."""
    if not isinstance(model._meta.pk, models.AutoField | models.IntegerField):
        return rows.aggregate(**counts)
    bounds = model._default_manager.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return dict.fromkeys(counts, 0)
    step, totals = batch_size(), dict.fromkeys(counts, 0)
    for start in range(bounds["low"], bounds["high"] + 1, step):
        found = rows.filter(pk__gte=start, pk__lt=start + step).aggregate(**counts)
        for key, value in found.items():
            totals[key] += value or 0
    return totals
