"""Recording who looked at or exported whose data (issue: staff access log).

One insert per action; exports add their contacts in bulk batches. Nothing but ids is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from itertools import chain, islice

from django.db import connection, transaction
from django.utils import timezone

from core.batches import delete_in_batches
from core.models import ComplianceSettings
from staff.models import AccessedContact, AccessLogEntry

BATCH = 5000


def _request_id(request) -> str:
    # The id the request's log lines carry (operations.logs.RequestLogMiddleware), if it ran.
    if getattr(request, "request_id", ""):
        return request.request_id
    if not hasattr(request, "_access_log_id"):
        request._access_log_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    return request._access_log_id


def record_access(
    *, request, action: str, contact_ids: Iterable[int], user=None, path: str = ""
) -> AccessLogEntry:
    """`user`: whom the entry is about when the request has nobody signed in yet (a sign-in);
    `path`: instead of the request's (a refusal's reason code)."""
    entry = AccessLogEntry(
        user=user or request.user,
        action=action,
        request_id=_request_id(request),
        ip=request.META.get("REMOTE_ADDR"),
        path=(path or request.path)[:300],
    )
    ids = iter(contact_ids)
    first = list(islice(ids, BATCH + 1))
    if len(first) <= BATCH and connection.vendor == "postgresql":
        # A page or one contact (every API read and write): the entry and its contacts in one
        # statement, atomic by itself, instead of a transaction of three.
        entry.contact_count = len(first)
        _insert_at_once(entry, first)
        return entry
    if len(first) <= BATCH:  # all known already: no count to write afterwards
        entry.contact_count = len(first)
    return _insert_in_batches(entry, chain(first, ids))


def _insert_at_once(entry: AccessLogEntry, contact_ids: list[int]) -> None:
    meta = entry._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    row = ", ".join(["%s"] * len(fields))
    params = [f.get_db_prep_save(f.pre_save(entry, add=True), connection) for f in fields]
    # Only quoted names from the models' meta are spliced in; values go through parameters.
    statement = (
        f"WITH entry AS (INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({row}) RETURNING {quote(meta.pk.column)} AS id)"
    )
    if contact_ids:
        seen = AccessedContact._meta
        statement += (
            f", seen AS (INSERT INTO {quote(seen.db_table)} ({quote(seen.get_field('entry').column)}, "  # noqa: S608
            f"{quote(seen.get_field('contact').column)}) SELECT entry.id, unnest(%s::bigint[]) FROM entry)"
        )
        params.append(contact_ids)
    with connection.cursor() as cursor:
        cursor.execute(statement + " SELECT id FROM entry", params)  # noqa: S608
        entry.pk = cursor.fetchone()[0]
    entry._state.adding, entry._state.db = False, connection.alias


@transaction.atomic
def _insert_in_batches(entry: AccessLogEntry, contact_ids: Iterable[int]) -> AccessLogEntry:
    """An export's many contacts: the entry, then its contacts in bulk batches."""
    entry.save()
    ids, count = iter(contact_ids), 0
    while batch := list(islice(ids, BATCH)):
        AccessedContact.objects.bulk_create([AccessedContact(entry=entry, contact_id=pk) for pk in batch])
        count += len(batch)
    if count != entry.contact_count:
        AccessLogEntry.objects.filter(pk=entry.pk).update(contact_count=count)
        entry.contact_count = count
    return entry


def access_log_purge(*, now=None) -> int:
    """Delete entries older than the retention period in the compliance settings (default 2 years)."""
    days = ComplianceSettings.load().access_log_retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    # In batches: at scale one DELETE held every old row of a big table until it ended.
    return delete_in_batches(AccessLogEntry.objects.filter(at__lt=cutoff))[1].get("staff.AccessLogEntry", 0)
