"""When a task's database connection dies under it (a database restart, a failover, a network cut).

A task retries on a new connection (Celery closes the dead one before the next attempt); a service
whose claim would keep that retry out gives the claim back first, with on_a_new_connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

# Errors of the connection, not of the data: the same work on a new connection may succeed.
# (IntegrityError and DataError would fail again, so they are not retried.)
CONNECTION_LOST = (OperationalError, InterfaceError)

# Celery options for a task whose service is safe to rerun: retried with growing, jittered
# delays (up to 5 minutes apart, about half an hour in all) so a database restart is ridden out.
RETRY_ON_CONNECTION_LOSS = {
    "autoretry_for": CONNECTION_LOST,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "max_retries": 10,
}


def on_a_new_connection(write: Callable[[], object]) -> bool:
    """Drop the connection that failed and run `write` on a new one. False, with nothing written,
    if the database is still unreachable, or if a caller's transaction is open (its rollback
    decides then)."""
    if connection.in_atomic_block:
        return False
    connection.close_if_unusable_or_obsolete()
    try:
        write()
    except DatabaseError:
        logger.warning("database still unreachable after a lost connection")
        return False
    return True
