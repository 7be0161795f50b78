"""Set-based inserts for the bulk paths (imports of new people, synthetic data).

On PostgreSQL rows go through COPY, several times faster than Django's multi-row INSERT (whose
per-value preparation in Python dominates a large import); ids are drawn from the table's
sequence first, so callers get their primary keys as with bulk_create. Elsewhere: bulk_create.

What differs between databases lives in one class per database (`PostgreSQL`, `SQLite`, and
`Generic` for the rest), chosen once per connection by `dialect(connection)`; the public
functions below say what is written and leave how to it. Other SQL that differs by database
(advisory locks, locking rows by id, planner statistics and plans) asks the same object.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import datetime
from functools import cache

from django.db import connection, models
from django.utils import timezone
from django.utils.functional import Promise

# Below this many rows one INSERT (... RETURNING) is one round trip; COPY takes two plus the ids.
COPY_FROM = 20


def _copy_value(field, obj):
    return _db_value(field, field.pre_save(obj, add=True))  # auto_now_add and friends, as bulk_create


def _db_value(field, value):
    if value is not None and isinstance(field, models.JSONField):
        return json.dumps(value, cls=field.encoder)
    if isinstance(value, Promise):  # a lazy translation, e.g. a choice label used as a reason
        return str(value)
    return value


def _mark_saved(objs: list) -> None:
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


class Generic:
    """Any database Django supports: its own bulk methods, each statement on its own."""

    vendor = ""
    # Whether writes may wait inside one_round_trip() to travel with the next statement.
    queues_writes = False
    # Whether the set-based paths may stage rows in a temporary table and apply them with
    # UPDATE ... FROM (stage_rows); elsewhere they go their row-by-row way.
    stages = False

    def insert_objects(self, model, objs: list, batch_size: int) -> list:
        return model._default_manager.bulk_create(objs, batch_size=batch_size)

    def insert_rows(self, model, rows: list[dict]) -> None:
        model._default_manager.bulk_create([model(**row) for row in rows], batch_size=500)

    def set_fields(self, model, objs: list, fields: list[str], batch_size: int) -> None:
        model._default_manager.bulk_update(objs, fields, batch_size=batch_size)

    def stage_table(self, name: str, columns: list[tuple[str, str]]) -> None:
        """Make the temporary table `name` (once per connection) and empty it."""
        spec = ", ".join(f"{column} {kind}" for column, kind in columns)
        _flush()
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({spec}){self.temp_table_suffix}")
            cursor.execute(f"DELETE FROM {name}")  # noqa: S608 (names are the caller's constants)

    temp_table_suffix = ""

    def load_rows(self, table: str, columns: list[str], rows) -> None:
        """Append rows (tuples in `columns` order) to `table`: one executemany."""
        adapt = connection.ops.adapt_datetimefield_value
        placeholders = ", ".join(["%s"] * len(columns))
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
        values = [[adapt(v) if isinstance(v, datetime) else v for v in row] for row in rows]
        with connection.cursor() as cursor:
            cursor.executemany(statement, values)

    def lock(self, key: int) -> None:
        """Hold an advisory lock on `key` until the transaction ends (see core.locks)."""

    def rows_locked(self, model, ids: list[int]):
        """The rows of `model` with these ids, locked in id order (select_for_update)."""
        return model._default_manager.select_for_update().filter(pk__in=ids).order_by("pk")

    def analyze(self, models=()) -> None:
        """Bring the planner's statistics up to date after a bulk load, where that matters: of
        these models' tables, or of every table when none is named."""

    def full_scans(self, cursor, sql: str, params: list) -> set[str]:
        """Tables the planner would read in full (no index) for this statement."""
        return set()


class _UpdateFrom(Generic):
    """Databases with UPDATE ... FROM: bulk_set writes one statement per batch.

    Django's bulk_update builds a CASE WHEN per row and field, whose Python side costs more than
    the write itself (measured: 37 s of a 2,000-row import's 51 s)."""

    update_batch = 0  # rows per statement; 0: the caller's batch_size

    def set_fields(self, model, objs: list, fields: list[str], batch_size: int) -> None:
        meta = model._meta
        columns = [meta.pk, *(meta.get_field(name) for name in fields)]
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        assignments = ", ".join(
            f"{quote(f.column)} = v.column{n}" for n, f in enumerate(columns[1:], start=2)
        )
        step = self.update_batch or batch_size
        for start in range(0, len(objs), step):
            batch = objs[start : start + step]
            values = [
                [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns] for obj in batch
            ]
            source, params = self.update_source(columns, values)
            # Only quoted names from the model's meta are spliced in; values go through parameters.
            statement = (
                f"UPDATE {table} SET {assignments} FROM {source} "  # noqa: S608
                f"WHERE {table}.{quote(meta.pk.column)} = v.column1"
            )
            write_rows(statement, params)

    def update_source(self, columns: list, values: list[list]) -> tuple[str, list]:
        """The rows to write as a relation `v(column1, column2, ...)` and its parameters."""
        raise NotImplementedError


class SQLite(_UpdateFrom):
    """SQLite 3.33 or later: a VALUES list as the source of UPDATE ... FROM."""

    vendor = "sqlite"
    stages = True

    def full_scans(self, cursor, sql: str, params: list) -> set[str]:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        details = (row[-1] for row in cursor.fetchall())
        return {d.split()[1] for d in details if d.startswith("SCAN ") and "USING" not in d}

    def update_source(self, columns: list, values: list[list]) -> tuple[str, list]:
        row = "(" + ", ".join(["%s"] * len(columns)) + ")"
        return f"(VALUES {', '.join([row] * len(values))}) AS v", [
            v for row_values in values for v in row_values
        ]


class PostgreSQL(_UpdateFrom):
    """COPY for many rows, one INSERT for a few, queued writes, advisory locks."""

    vendor = "postgresql"
    stages = True
    temp_table_suffix = " ON COMMIT DELETE ROWS"
    # PostgreSQL takes several statements in one execute() with Django's default client-side
    # binding ("server_side_binding" in OPTIONS would refuse it).
    queues_writes = True
    update_batch = 5000  # one array per column keeps the statement small at any size

    def insert_objects(self, model, objs: list, batch_size: int) -> list:
        if len(objs) < COPY_FROM and all(o.pk is None for o in objs):
            return self._insert_returning(model, objs)
        from psycopg import sql

        meta = model._meta
        fields = list(meta.concrete_fields)
        missing = [o for o in objs if o.pk is None]
        _flush()  # COPY cannot travel with other statements
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
        _mark_saved(objs)
        return objs

    @staticmethod
    def _insert_returning(model, objs: list) -> list:
        """A few new rows in one INSERT ... RETURNING, the SQL bulk_create writes without its query
        compiler: a single consent change writes two such rows, and the compiler cost as much as the
        round trip (about 0.3 ms each)."""
        meta = model._meta
        pk = meta.pk
        fields = [f for f in meta.concrete_fields if f is not pk]
        quote = connection.ops.quote_name
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        # Only quoted names from the model's meta are spliced in; values go through parameters.
        statement = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
            f"VALUES {', '.join([row] * len(objs))} RETURNING {quote(pk.column)}"
        )
        params = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for obj in objs for f in fields]
        for obj, (value,) in zip(objs, fetch_rows(statement, params), strict=True):
            obj.pk = value
        _mark_saved(objs)
        return objs

    def insert_rows(self, model, rows: list[dict]) -> None:
        from psycopg import sql

        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        fields = [by_attname[name] for name in rows[0]]
        table = sql.Identifier(model._meta.db_table)
        columns = sql.SQL(", ").join(sql.Identifier(f.column) for f in fields)
        values = ([_db_value(f, row[f.attname]) for f in fields] for row in rows)
        if len(rows) < COPY_FROM:  # one round trip (or none of its own)
            row = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(fields)))
            statement = sql.SQL("INSERT INTO {} ({}) VALUES {}").format(
                table, columns, sql.SQL(", ").join([row] * len(rows))
            )
            connection.ensure_connection()
            write_rows(statement.as_string(connection.connection), [v for row in values for v in row])
            return
        _flush()
        copy_statement = sql.SQL("COPY {} ({}) FROM STDIN").format(table, columns)
        with connection.cursor() as cursor, cursor.cursor.copy(copy_statement) as copy:
            for row in values:
                copy.write_row(row)

    def load_rows(self, table: str, columns: list[str], rows) -> None:
        from psycopg import sql

        _flush()  # COPY cannot travel with other statements
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def update_source(self, columns: list, values: list[list]) -> tuple[str, list]:
        # One array per column (unnest): the driver binds a handful of parameters, not thousands.
        names = ", ".join(f"column{n}" for n in range(1, len(columns) + 1))
        arrays = ", ".join(f"CAST(%s AS {f.db_type(connection)}[])" for f in columns)
        return f"unnest({arrays}) AS v({names})", [list(column) for column in zip(*values, strict=True)]

    def lock(self, key: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])

    def analyze(self, models=()) -> None:
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")

    def full_scans(self, cursor, sql: str, params: list) -> set[str]:
        cursor.execute("EXPLAIN " + sql, params)
        return set(re.findall(r"Seq Scan on (\w+)", "\n".join(row[0] for row in cursor.fetchall())))

    def rows_locked(self, model, ids: list[int]):
        # As plain SQL: for one consent change the ORM's query compiler cost more than the
        # statement (0.35 ms of a 4.5 ms change).
        table = connection.ops.quote_name(model._meta.db_table)
        pk = connection.ops.quote_name(model._meta.pk.column)
        return model._default_manager.raw(
            f"SELECT * FROM {table} WHERE {pk} = ANY(%s) ORDER BY {pk} FOR UPDATE",  # noqa: S608
            [ids],
        )


class SQLiteBefore333(SQLite):
    """SQLite before 3.33 has no UPDATE ... FROM: Django's bulk_update."""

    set_fields = Generic.set_fields
    stages = False


def _choose(conn) -> Generic:
    if conn.vendor == "postgresql":
        return PostgreSQL()
    if conn.vendor == "sqlite":
        return SQLite() if conn.Database.sqlite_version_info >= (3, 33) else SQLiteBefore333()
    return Generic()


def dialect(conn=None) -> Generic:
    """The database's differences for `conn` (the default connection), chosen once per connection."""
    conn = conn or connection
    chosen = getattr(conn, "_bulk_dialect", None)
    if chosen is None:
        chosen = _choose(conn)
        conn._bulk_dialect = chosen
    return chosen


@contextmanager
def one_round_trip():
    """Inside, writes whose results nobody reads wait, then go together with the next statement
    that returns rows (or at the end): one round trip instead of several, where the database
    takes several statements in one execute() (PostgreSQL); elsewhere they run at once. Only the
    bulk writers here queue, and a read would not see a write still waiting: keep the block to
    writes."""
    if not dialect().queues_writes or getattr(connection, "_waiting_writes", None) is not None:
        yield
        return
    connection._waiting_writes = []
    try:
        yield
        _flush()
    finally:
        connection._waiting_writes = None


def write_rows(statement: str, params: list) -> None:
    """Run a statement whose result nobody reads, or queue it inside one_round_trip()."""
    waiting = getattr(connection, "_waiting_writes", None)
    if waiting is not None:
        waiting.append((statement, params))
        return
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def fetch_rows(statement: str, params: list) -> list:
    """Run a statement that returns rows, with the writes waiting before it, in one round trip."""
    waiting = getattr(connection, "_waiting_writes", None) or []
    statements = [*waiting, (statement, params)]
    waiting.clear()
    with connection.cursor() as cursor:
        cursor.execute("; ".join(s for s, _p in statements), [v for _s, p in statements for v in p])
        for _ in statements[1:]:
            cursor.nextset()
        return cursor.fetchall()


def fetch_many(reads: list[tuple]) -> list[list]:
    """Several reads, each (model or None, statement, params), in one round trip with the writes
    waiting before them (PostgreSQL takes several statements in one execute()). A read with a
    model gives its instances (the statement selects the model's columns, by name, e.g. SELECT *),
    one without gives the rows as tuples. For a transaction's opening reads that do not depend on
    each other (the consent service: its settings, wording, receivers and locked rows)."""
    waiting = getattr(connection, "_waiting_writes", None) or []
    statements = [*waiting, *((sql, params) for _model, sql, params in reads)]
    waiting.clear()
    results = []
    with connection.cursor() as cursor:
        cursor.execute("; ".join(s for s, _p in statements), [v for _s, p in statements for v in p])
        for _ in range(len(statements) - len(reads)):  # the writes' (empty) results
            cursor.nextset()
        for number, (model, _sql, _params) in enumerate(reads):
            if number:
                cursor.nextset()
            rows = cursor.fetchall()
            if model is not None:
                rows = _instances(model, tuple(column.name for column in cursor.description), rows)
            results.append(rows)
    return results


def _instances(model, columns: tuple[str, ...], rows: list) -> list:
    """Instances from rows of the model's columns, through the fields' converters (as the ORM
    and raw() read them: a JSON column arrives as text and leaves as its value)."""
    names, order, converters = _reading(model, columns)
    alias = connection.alias
    made = []
    for row in rows:
        values = [row[index] for index in order]  # from_db takes them in the model's field order
        for index, field, convert in converters:
            for converter in convert:
                values[index] = converter(values[index], field.cached_col, connection)
        made.append(model.from_db(alias, names, values))
    return made


_READINGS: dict = {}


def _reading(model, columns: tuple[str, ...]) -> tuple[list[str], list[int], list]:
    """For rows of these columns: the attnames and column positions in the model's field order,
    and (position, field, converters) of each field that has converters."""
    key = (model, columns, connection.vendor)
    if key not in _READINGS:
        position = {column: index for index, column in enumerate(columns)}
        fields = [f for f in model._meta.concrete_fields if f.column in position]
        converters = []
        for index, field in enumerate(fields):
            col = field.cached_col
            convert = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if convert:
                converters.append((index, field, convert))
        _READINGS[key] = ([f.attname for f in fields], [position[f.column] for f in fields], converters)
    return _READINGS[key]


def _flush() -> None:
    waiting = getattr(connection, "_waiting_writes", None)
    if waiting:
        statements = list(waiting)
        waiting.clear()
        with connection.cursor() as cursor:
            cursor.execute("; ".join(s for s, _p in statements), [v for _s, p in statements for v in p])


def bulk_insert(model, objs: list, *, batch_size: int = 5000) -> list:
    """Insert `objs` (new instances of `model`) and set their primary keys. Returns objs."""
    if not objs:
        return objs
    return dialect().insert_objects(model, objs, batch_size)


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
    when = date or timezone.now()
    user_id = getattr(user, "pk", None)
    rows = [
        {
            **values,
            "history_date": when,
            "history_user_id": user_id,
            "history_change_reason": reason,
            "history_type": kind,
        }
        for values, kind, reason in versions
    ]
    insert_rows(_history_model(model), rows)


def insert_rows(model, rows: list[dict]) -> None:
    """Insert rows given as {attname: value}, all with the same keys, without building instances
    or reading ids back (the database numbers them): for rows nobody reads in this transaction,
    such as history. A history instance per row cost more than its COPY (measured in imports)."""
    if not rows:
        return
    dialect().insert_rows(model, rows)


def tracked_values(obj) -> dict:
    """The values of the fields simple-history keeps for `obj`, as its history row needs them."""
    return {name: getattr(obj, name) for name in _tracked_attnames(type(obj))}


@cache
def _history_model(model):
    # Each access to Model.history builds a new manager class (simple-history's descriptor):
    # 0.3 ms, as long as a whole statement of a consent change.
    return model.history.model


@cache
def _tracked_attnames(model) -> tuple[str, ...]:
    return tuple(f.attname for f in _history_model(model).tracked_fields)


def staging_supported() -> bool:
    """Whether stage_rows and UPDATE ... FROM a staged table work here (PostgreSQL, SQLite 3.33+)."""
    return dialect().stages


def stage_rows(name: str, columns: list[tuple[str, str]], rows) -> None:
    """Fill the temporary table `name` ((column, SQL type) pairs) with `rows`, tuples in that order:
    COPY on PostgreSQL, executemany on SQLite. The table lives for the connection (PostgreSQL
    empties it at each commit) and is emptied before each fill; `name` must be a constant."""
    dialect().stage_table(name, columns)
    load_rows(name, [column for column, _kind in columns], rows)


def load_rows(table: str, columns: list[str], rows) -> None:
    """Append rows (tuples in `columns` order) to `table` without reading anything back: COPY on
    PostgreSQL, executemany elsewhere. For rows already final, such as sealed change records."""
    dialect().load_rows(table, columns, rows)


def bulk_set(model, objs: list, fields: list[str], *, batch_size: int = 500) -> None:
    """Write `fields` of existing `objs` with one UPDATE ... FROM per batch where the database has
    it (PostgreSQL: one array per column; SQLite 3.33+: a VALUES list), else Django's bulk_update."""
    if not objs:
        return
    dialect().set_fields(model, objs, fields, batch_size)
