"""Set-based inserts for the bulk paths (imports of new people, synthetic data).

On PostgreSQL rows go through COPY, several times faster than Django's multi-row INSERT (whose
per-value preparation in Python dominates a large import); ids are drawn from the table's
sequence first, so callers get their primary keys as with bulk_create. Elsewhere: bulk_create.
"""

from __future__ import annotations

import json
from functools import cache

from django.db import connection, models
from django.utils import timezone
from django.utils.functional import Promise


def _copy_value(field, obj):
    value = field.pre_save(obj, add=True)  # auto_now_add and friends, as bulk_create does
    if value is not None and isinstance(field, models.JSONField):
        return json.dumps(value, cls=field.encoder)
    if isinstance(value, Promise):  # a lazy translation, e.g. a choice label used as a reason
        return str(value)
    return value


def bulk_insert(model, objs: list, *, batch_size: int = 5000) -> list:
    """Insert `objs` (new instances of `model`) and set their primary keys. Returns objs."""
    if not objs:
        return objs
    if connection.vendor != "postgresql" or len(objs) < 20:
        # A few rows: one INSERT ... RETURNING is one round trip; COPY takes two plus the ids.
        return model._default_manager.bulk_create(objs, batch_size=batch_size)
    from psycopg import sql

    meta = model._meta
    fields = list(meta.concrete_fields)
    missing = [o for o in objs if o.pk is None]
    with connection.cursor() as cursor:
        if missing:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(missing)],
            )
            for obj, (pk,) in zip(missing, cursor.fetchall(), strict=True):
                obj.pk = pk
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(meta.db_table), sql.SQL(", ").join(sql.Identifier(f.column) for f in fields)
        )
        with cursor.cursor.copy(statement) as copy:
            for obj in objs:
                copy.write_row([_copy_value(f, obj) for f in fields])
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    return objs


def bulk_insert_with_history(model, objs: list, *, user=None, reason: str = "", date=None) -> list:
    """bulk_insert plus one simple-history "+" row per object, as bulk_create_with_history writes."""
    bulk_insert(model, objs)
    history_insert(model, [(tracked_values(obj), "+", reason) for obj in objs], user=user, date=date)
    return objs


def history_insert(model, versions: list[tuple[dict, str, str]], *, user=None, date=None) -> None:
    """One simple-history row per (tracked field values, history type, change reason), in order.

    The bulk paths write rows with update() or COPY, which simple-history does not see (DESIGN.md,
    pitfalls); this writes the rows its signals would have written.
    """
    if not versions:
        return
    history = model.history.model
    when = date or timezone.now()
    user_id = getattr(user, "pk", None)
    rows = [
        history(
            history_date=when,
            history_user_id=user_id,
            history_change_reason=reason,
            history_type=kind,
            **values,
        )
        for values, kind, reason in versions
    ]
    bulk_insert(history, rows)


def tracked_values(obj) -> dict:
    """The values of the fields simple-history keeps for `obj`, as its history row needs them."""
    return {name: getattr(obj, name) for name in _tracked_attnames(type(obj))}


@cache
def _tracked_attnames(model) -> tuple[str, ...]:
    # Each access to Model.history builds a new manager class (simple-history's descriptor).
    return tuple(f.attname for f in model.history.model.tracked_fields)


def bulk_set(model, objs: list, fields: list[str], *, batch_size: int = 500) -> None:
    """Write `fields` of existing `objs` with one UPDATE ... FROM per batch.

    Django's bulk_update builds a CASE WHEN per row and field, whose Python side costs more than
    the write itself (measured: 37 s of a 2,000-row import's 51 s). PostgreSQL gets one array per
    column (unnest), so the driver has a handful of parameters to bind, not thousands; SQLite a
    VALUES list. SQLite before 3.33 has no UPDATE ... FROM and keeps bulk_update.
    """
    if not objs:
        return
    if connection.vendor == "sqlite" and connection.Database.sqlite_version_info < (3, 33):
        model._default_manager.bulk_update(objs, fields, batch_size=batch_size)
        return
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    assignments = ", ".join(f"{quote(f.column)} = v.column{n}" for n, f in enumerate(columns[1:], start=2))
    postgres = connection.vendor == "postgresql"
    if postgres:
        names = ", ".join(f"column{n}" for n in range(1, len(columns) + 1))
        arrays = ", ".join(f"CAST(%s AS {f.db_type(connection)}[])" for f in columns)
        source = f"unnest({arrays}) AS v({names})"
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    step = 5000 if postgres else batch_size  # arrays keep the statement small at any size
    with connection.cursor() as cursor:
        for start in range(0, len(objs), step):
            batch = objs[start : start + step]
            values = [
                [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns] for obj in batch
            ]
            if postgres:
                params = [list(column) for column in zip(*values, strict=True)]
            else:
                source = f"(VALUES {', '.join([row] * len(batch))}) AS v"
                params = [value for row_values in values for value in row_values]
            # Only quoted names from the model's meta are spliced in; values go through parameters.
            statement = (
                f"UPDATE {table} SET {assignments} FROM {source} "  # noqa: S608
                f"WHERE {table}.{quote(meta.pk.column)} = v.column1"
            )
            cursor.execute(statement, params)
