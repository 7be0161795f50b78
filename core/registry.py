"""The personal-data registry (rule 3 of DESIGN.md).

Each app's privacy.py registers the models that hold personal data, which fields are personal,
how a row reaches its Contact, and what erasure does to it. Discovery, export and erasure walk
this registry; a system check (core.checks) refuses any model pointing at Contact that is missing.

Files count too: each app registers the files it writes that can hold personal data (export
bundles, segment exports, import uploads) with `register_files`, saying how to find the files of
given people, how to revoke their links, and how to delete or rewrite them. Erasure finds and
revokes inside its transaction and touches the files only after it commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models


class Erasure(models.TextChoices):
    DELETE = "delete", "delete the rows"
    ANONYMISE = "anonymise", "keep the rows, strip the personal fields"
    KEEP = "keep", "keep under a legal hold"


@dataclass(frozen=True)
class PersonalData:
    model: type[models.Model]
    fields: tuple[str, ...]
    contact_path: str  # ORM path from the model to Contact; "" for Contact itself
    erasure: Erasure
    legal_hold: str = ""
    kept_until: str = ""  # for the erasure receipt: how long anonymised or held rows stay
    # ANONYMISE: how to strip the personal fields from a queryset of rows. Default: blank them.
    anonymise: Callable[[models.QuerySet], int] | None = None
    # For the person's export bundle: rows as dicts. Default: every column but secrets.
    export: Callable[[models.QuerySet], list[dict]] | None = None

    def rows_for(self, contact) -> models.QuerySet:
        """All rows of this model that belong to `contact`."""
        return self.rows_for_ids([contact.pk])

    def rows_for_ids(self, ids) -> models.QuerySet:
        """All rows of this model that belong to any of these contacts, each once."""
        if not self.contact_path:
            return self.model._default_manager.filter(pk__in=ids)
        return self.model._default_manager.filter(**{f"{self.contact_path}__in": ids}).distinct()


_registry: dict[type[models.Model], PersonalData] = {}


def register(
    model: type[models.Model],
    *,
    fields: list[str] | tuple[str, ...],
    contact_path: str,
    erasure: Erasure,
    legal_hold: str = "",
    kept_until: str = "",
    anonymise: Callable[[models.QuerySet], int] | None = None,
    export: Callable[[models.QuerySet], list[dict]] | None = None,
) -> None:
    if erasure == Erasure.KEEP and not legal_hold:
        raise ValueError(f"{model._meta.label}: erasure KEEP needs the legal hold's reason")
    _registry[model] = PersonalData(
        model, tuple(fields), contact_path, Erasure(erasure), legal_hold, kept_until, anonymise, export
    )


@dataclass(frozen=True)
class PersonalFiles:
    """Files that can hold personal data, and what erasure does to them.

    find(ids, identities) -> handles: the files (as rows or paths) holding any of these contacts,
      called inside the erasure's transaction, before any row is changed; it may lock rows.
    revoke(handles, identities): inside the transaction: download links off, rows marked.
    erase(handles, identities) -> int: after commit only: delete or rewrite the files; returns how
      many files it changed. A rollback therefore never leaves rows pointing at deleted files.
    """

    name: str  # for the officer: "Export bundle files (snapshot and ZIP)"
    how: str  # what erasure does to them, in words
    find: Callable[[list[int], list], list]
    erase: Callable[[list, list], int]
    revoke: Callable[[list, list], None] | None = None


_files: dict[str, PersonalFiles] = {}


def register_files(
    name: str,
    *,
    how: str,
    find: Callable[[list[int], list], list],
    erase: Callable[[list, list], int],
    revoke: Callable[[list, list], None] | None = None,
) -> None:
    _files[name] = PersonalFiles(name, how, find, erase, revoke)


def file_entries() -> list[PersonalFiles]:
    return list(_files.values())


def entries() -> list[PersonalData]:
    return list(_registry.values())


def entry_for(model: type[models.Model]) -> PersonalData | None:
    return _registry.get(model)
