"""SQL as an adversary who owns the database schema would run it: past the append-only triggers
(core/append_only.py), which such a person can lift. What the chain seals must still tell."""

from contextlib import contextmanager

from django.db import connection

from core.append_only import sqlite_triggers_lifted


@contextmanager
def triggers_lifted():
    """Inside the test's transaction: PostgreSQL's replica mode skips the triggers; SQLite's are
    dropped and created again."""
    if connection.vendor != "postgresql":
        with sqlite_triggers_lifted(connection):
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield
        finally:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def tamper(statement: str, params=()) -> None:
    with triggers_lifted(), connection.cursor() as cursor:
        cursor.execute(statement, params)
