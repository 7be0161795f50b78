"""Send an email for a row at most once, however often its task runs (retries, duplicate
deliveries, two workers). The row needs `sent_at` and `send_claimed_at` fields.

The row is claimed in its own committed transaction before sending; a rerun finds the claim (or
sent_at) and does nothing. Only a claim older than CLAIM_TIMEOUT (a worker that died mid-send)
is taken over. A failed send releases the claim so the retry can send.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

CLAIM_TIMEOUT = timedelta(minutes=15)


def send_once(model, pk: int, send: Callable, *, done: Callable = lambda row: False) -> bool:
    """Call send(row) unless the row was sent, is being sent, or done(row). True if it sent."""
    with transaction.atomic():
        row = model._default_manager.select_for_update().filter(pk=pk).first()
        if row is None or row.sent_at or done(row):
            return False
        if row.send_claimed_at and row.send_claimed_at > timezone.now() - CLAIM_TIMEOUT:
            return False
        row.send_claimed_at = timezone.now()
        row.save(update_fields=["send_claimed_at"])
    try:
        send(row)
    except Exception:
        model._default_manager.filter(pk=pk).update(send_claimed_at=None)
        raise
    model._default_manager.filter(pk=pk).update(sent_at=timezone.now())
    return True
