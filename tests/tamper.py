"""SQL as an adversary who owns the database schema would run it: past the append-only triggers
(config/append_only.py), which such a person can lift. What the chain seals must still tell."""

from contextlib import contextmanager

from django.db import connection


@contextmanager
def triggers_lifted():
    """Inside the test's transaction: on PostgreSQL replica mode skips the triggers; on SQLite
    they are dropped and created again."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
            try:
                yield
            finally:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            return
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'append_only_%'"
        )
        triggers = cursor.fetchall()
        for name, _sql in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        try:
            yield
        finally:
            for _name, sql in triggers:
                cursor.execute(sql)


def tamper(statement: str, params=()) -> None:
    with triggers_lifted(), connection.cursor() as cursor:
        cursor.execute(statement, params)
