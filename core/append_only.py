"""Database triggers that make a table append-only in the database itself (DESIGN.md, Proofs: let
the database refuse what the application refuses), on PostgreSQL and on SQLite.

`append_only(...)` is the one operation the apps' migrations use. Each table names the one
rewrite the application makes (e.g. an erasure pseudonymising a consent change record) as a
condition on the old and new row; any other UPDATE and any DELETE, by the ORM or by hand-written
SQL, fails with the table's message. The conditions state the application's own rule, so no
switch exists that a session could flip to get past them; only the owner of the schema, by
dropping the trigger, can, and what the chain seals still shows such edits.

On PostgreSQL a condition is SQL over OLD and NEW in a plpgsql function (subqueries allowed);
`unchanged_except(...)` compares whole rows as jsonb, so a column added later is covered too.
On SQLite the condition goes into the trigger's WHEN and lists columns. SQLite rebuilds a table
to alter it, which drops its triggers: the tests that UPDATE and DELETE by SQL catch that.
TRUNCATE (PostgreSQL) is left alone: the test runner empties tables with it, and the chain's
checkpoints find a truncated chain.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import migrations


def unchanged_except(*columns: str) -> str:
    """PostgreSQL: every column of the row but these kept its value."""
    names = ", ".join(f"'{c}'" for c in columns)
    return f"(to_jsonb(NEW) - ARRAY[{names}]::text[]) = (to_jsonb(OLD) - ARRAY[{names}]::text[])"


def sqlite_unchanged(*columns: str) -> str:
    return " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in columns)


def _postgresql(table: str, message: str, update_ok: str, delete_ok: str) -> list[str]:
    function = f"{table}_append_only"
    text = message.replace("'", "''")
    return [
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF {update_ok} THEN RETURN NEW; END IF;
    ELSIF {delete_ok} THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '{text}' USING ERRCODE = 'insufficient_privilege';
END
$$""",
        f'DROP TRIGGER IF EXISTS append_only ON "{table}"',
        f'CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON "{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
    ]


def _sqlite(table: str, message: str, update_ok: str, delete_ok: str) -> list[str]:
    text = message.replace("'", "''")
    # coalesce: a condition that comes out NULL must refuse, as it does in plpgsql.
    return [
        f'CREATE TRIGGER IF NOT EXISTS "append_only_{table}_{op.lower()}" BEFORE {op} ON "{table}" '
        f"WHEN NOT coalesce(({ok}), 0) BEGIN SELECT RAISE(ABORT, '{text}'); END"
        for op, ok in (("UPDATE", update_ok), ("DELETE", delete_ok))
    ]


def append_only(
    table: str,
    *,
    message: str,
    postgresql_update_ok: str = "FALSE",
    postgresql_delete_ok: str = "FALSE",
    sqlite_update_ok: str = "0",
    sqlite_delete_ok: str = "0",
) -> migrations.RunPython:
    """Refuse UPDATE and DELETE on `table` unless the row meets the given condition."""

    def install(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            statements = _postgresql(table, message, postgresql_update_ok, postgresql_delete_ok)
        elif vendor == "sqlite":
            statements = _sqlite(table, message, sqlite_update_ok, sqlite_delete_ok)
        else:
            return
        for statement in statements:
            schema_editor.execute(statement, params=None)

    def remove(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(f'DROP TRIGGER IF EXISTS append_only ON "{table}"', params=None)
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()", params=None)
        elif vendor == "sqlite":
            for op in ("update", "delete"):
                schema_editor.execute(f'DROP TRIGGER IF EXISTS "append_only_{table}_{op}"', params=None)

    return migrations.RunPython(install, remove)


@contextmanager
def sqlite_triggers_lifted(connection):
    """SQLite: the triggers dropped, and created again afterwards, as the schema's owner could.
    Only for emptying a synthetic database (the benchmark's dataset, the tests), because SQLite's
    flush deletes row by row; PostgreSQL's flush truncates, which row triggers do not see, and
    there (and on any other database) this does nothing. Never on a request path."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'append_only_%'"
        )
        triggers = cursor.fetchall()
        for name, _sql in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _name, sql in triggers:
                cursor.execute(sql)
