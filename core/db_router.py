"""Reads a PostgreSQL streaming replica may serve (DATABASE_REPLICA_URL), and read-your-writes.

A read goes to the replica only inside `replica_reads()`, which the readers that tolerate a second
of lag open themselves: dashboards, exports, segment counts, the residue scan, the bench's reads.
Every other read stays on the primary, so an ORM read that feeds a write never sees old rows.

Read-your-writes: once a request or a Celery task wrote to the primary (any statement other than a
read, seen on the connection itself, raw SQL and COPY included), its reads stay on the primary,
because the replica may not have replayed that write yet. A block opened with catch_up=True (a job
that wrote its status and now reads a lot) instead waits up to DATABASE_REPLICA_CATCH_UP_SECONDS for
the replica to replay the primary's WAL up to now, and reads there if it did. After a request that
wrote, the browser carries a short-lived cookie that keeps its next requests (the redirect after a
POST) on the primary too. Inside a transaction on the primary every read stays on the primary.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
PIN_COOKIE = "primary_reads"

_replica_allowed = ContextVar("replica_allowed", default=False)
_wrote = ContextVar("wrote_to_primary", default=False)  # since the request or task began
_pinned = ContextVar("pinned_to_primary", default=False)  # the browser wrote a moment ago

# Statements that change nothing: anything else marks the context as having written.
_READ_ONLY = ("SELECT", "SHOW", "SET", "SAVEPOINT", "RELEASE", "ROLLBACK", "EXPLAIN")


def replica_configured() -> bool:
    """A replica that is not the primary's own database (a test mirror) is set."""
    replica = connections.settings.get(REPLICA)
    if replica is None:
        return False
    primary = connections.settings[DEFAULT_DB_ALIAS]
    return [replica.get(k) for k in ("HOST", "PORT", "NAME")] != [
        primary.get(k) for k in ("HOST", "PORT", "NAME")
    ]


def replica_in_use() -> bool:
    """Whether a read of the ORM issued here now would go to the replica."""
    return (
        _replica_allowed.get()
        and not _wrote.get()
        and not _pinned.get()
        and replica_configured()
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    )


@contextmanager
def replica_reads(*, catch_up: bool = False):
    """Reads in this block may go to the replica (a context manager and a decorator).

    catch_up=True: if this context wrote, first wait (briefly) until the replica has replayed it;
    when it has not in time, the block reads from the primary. Without it, a context that wrote
    reads from the primary at once (a web request must not wait for a replica).
    """
    if (
        catch_up
        and _wrote.get()
        and replica_configured()
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        and replica_caught_up(timeout=settings.DATABASE_REPLICA_CATCH_UP_SECONDS)
    ):
        _wrote.set(False)  # the replica now holds everything this context wrote
    token = _replica_allowed.set(True)
    try:
        yield
    finally:
        _replica_allowed.reset(token)


def replica_caught_up(*, timeout: float) -> bool:
    """Wait until the replica has replayed the primary's WAL up to its position now; False if it
    has not within `timeout` seconds (or is no streaming replica at all)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()")  # commits not yet flushed included
        (position,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    with connections[REPLICA].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
            (replayed,) = cursor.fetchone()
            if replayed or replayed is None or time.monotonic() >= deadline:
                return bool(replayed)
            time.sleep(0.01)


@contextmanager
def writes_tracked(*, pinned: bool = False):
    """One request or task: whether it wrote starts out false and ends with it."""
    wrote, pin = _wrote.set(False), _pinned.set(pinned)
    try:
        yield
    finally:
        _wrote.reset(wrote)
        _pinned.reset(pin)


def wrote() -> bool:
    return _wrote.get()


def note_writes(execute, sql, params, many, context):
    """An execute wrapper on the primary's connection (installed by core.apps)."""
    if not _wrote.get() and not (isinstance(sql, str) and sql.lstrip()[:9].upper().startswith(_READ_ONLY)):
        _wrote.set(True)
    return execute(sql, params, many, context)


def install_write_tracking(sender, connection, **kwargs):
    """connection_created: watch what the primary's connection runs."""
    if connection.alias == DEFAULT_DB_ALIAS and note_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(note_writes)


class ReplicaRouter:
    """Reads to the replica where replica_reads() allows it; everything else to the primary."""

    def db_for_read(self, model, **hints):
        return REPLICA if replica_in_use() else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        _wrote.set(True)  # the ORM is about to write (COPY through psycopg's own cursor is not seen)
        # Also for an instance read from the replica: the replica refuses every write.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two servers

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA


class ReadYourWritesMiddleware:
    """Keeps the reads of a request that wrote, and of the browser's next requests for
    DATABASE_REPLICA_PIN_SECONDS, on the primary (the redirect after a POST shows what was saved)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with writes_tracked(pinned=PIN_COOKIE in request.COOKIES):
            response = self.get_response(request)
            if wrote() and settings.DATABASE_REPLICA_PIN_SECONDS and replica_configured():
                response.set_cookie(
                    PIN_COOKIE,
                    "1",
                    max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
        return response
