"""Long jobs over big tables in bounded batches (issue 24: at ten million contacts no statement of
a housekeeping job may hold a big table's rows, or a snapshot of it, for long).

Keyset pagination by primary key: each batch is read again from where the last one ended (never
OFFSET, which rereads every row before it), and each write is its own short transaction.
"""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet


def batch_size(size: int | None = None) -> int:
    return size or settings.LONG_JOB_BATCH_SIZE


def ids_in_batches(queryset: QuerySet, *, size: int | None = None):
    """The primary keys of `queryset` in ascending order, `size` at a time (LONG_JOB_BATCH_SIZE),
    each batch one short query starting after the last key of the one before."""
    size, last = batch_size(size), None
    ordered = queryset.order_by("pk")
    while True:
        page = ordered if last is None else ordered.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[:size])
        if not ids:
            return
        last = ids[-1]
        yield ids


def delete_in_batches(queryset: QuerySet, *, size: int | None = None) -> tuple[int, dict[str, int]]:
    """Delete the rows of `queryset` batch by batch, each batch its own transaction; returns what
    QuerySet.delete() returns (rows deleted, cascades included, and the count per model)."""
    model = queryset.model
    total, per_model = 0, Counter()
    for ids in ids_in_batches(queryset, size=size):
        with transaction.atomic():
            deleted, counts = model._default_manager.filter(pk__in=ids).delete()
        total += deleted
        per_model.update(counts)
    return total, dict(per_model)
