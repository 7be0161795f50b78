"""Recording who looked at or exported whose data (issue: staff access log).

One insert per action; exports add their contacts in bulk batches. Nothing but ids is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from itertools import islice

from django.db import transaction
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


@transaction.atomic
def record_access(
    *, request, action: str, contact_ids: Iterable[int], user=None, path: str = ""
) -> AccessLogEntry:
    """`user`: whom the entry is about when the request has nobody signed in yet (a sign-in);
    `path`: instead of the request's (a refusal's reason code)."""
    entry = AccessLogEntry.objects.create(
        user=user or request.user,
        action=action,
        request_id=_request_id(request),
        ip=request.META.get("REMOTE_ADDR"),
        path=(path or request.path)[:300],
    )
    ids, count = iter(contact_ids), 0
    while batch := list(islice(ids, BATCH)):
        AccessedContact.objects.bulk_create([AccessedContact(entry=entry, contact_id=pk) for pk in batch])
        count += len(batch)
    if count:
        AccessLogEntry.objects.filter(pk=entry.pk).update(contact_count=count)
        entry.contact_count = count
    return entry


def access_log_purge(*, now=None) -> int:
    """Delete entries older than the retention period in the compliance settings (default 2 years)."""
    days = ComplianceSettings.load().access_log_retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    # In batches: at scale one DELETE held every old row of a big table until it ended.
    return delete_in_batches(AccessLogEntry.objects.filter(at__lt=cutoff))[1].get("staff.AccessLogEntry", 0)
