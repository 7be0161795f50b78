"""What a deployment of this size costs (issue 24, scope 7): the disk each table and index takes,
the memory of each process the bench ran, and the time of each nightly job at the dataset's scale.
Reported beside the measurements, never asserted."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

from django.db import DatabaseError, connection, transaction
from django.test import override_settings

MB = 1024 * 1024
# Jobs scheduled more often than hourly are the continuous work (sends, deliveries, heartbeats),
# measured by the other rows of the bench; these are the periodic housekeeping an operator sizes.
HOUSEKEEPING_PERIODS = {"hours", "days"}


# --- disk ------------------------------------------------------------------------------------


def table_sizes(*, top: int = 25) -> dict:
    """Bytes per table (heap with TOAST) and per index, largest first, and the database's total."""
    if connection.vendor == "postgresql":
        return _postgresql_sizes(top)
    if connection.vendor == "sqlite":
        return _sqlite_sizes(top)
    return {"tables": [], "database_bytes": None}


def _postgresql_sizes(top: int) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_table_size(c.oid), pg_indexes_size(c.oid), "
            "pg_total_relation_size(c.oid) FROM pg_class c "
            "WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace "
            "ORDER BY 5 DESC, 1 LIMIT %s",
            [top],
        )
        tables = [
            {
                "table": name,
                "rows": max(rows, 0),
                "table_bytes": heap,
                "index_bytes": idx,
                "total_bytes": total,
            }
            for name, rows, heap, idx, total in cursor.fetchall()
        ]
        cursor.execute(
            "SELECT t.relname, i.relname, pg_relation_size(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ANY(%s) ORDER BY 3 DESC, 2",
            [[t["table"] for t in tables]],
        )
        for table in tables:
            table["indexes"] = {}
        by_name = {t["table"]: t for t in tables}
        for table, index, size in cursor.fetchall():
            by_name[table]["indexes"][index] = size
        cursor.execute("SELECT pg_database_size(current_database())")
        return {"tables": tables, "database_bytes": cursor.fetchone()[0]}


def _sqlite_sizes(top: int) -> dict:
    path = Path(connection.settings_dict["NAME"])
    total = path.stat().st_size if path.exists() else None
    with connection.cursor() as cursor:
        try:  # dbstat is compiled into most SQLite builds, not all
            cursor.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
        except Exception:
            return {"tables": [], "database_bytes": total, "note": "SQLite without dbstat: file size only"}
        sizes = dict(cursor.fetchall())
        cursor.execute("SELECT name, tbl_name, type FROM sqlite_master WHERE type IN ('table', 'index')")
        objects = cursor.fetchall()
    tables = {}
    for name, table, kind in objects:
        entry = tables.setdefault(table, {"table": table, "rows": None, "table_bytes": 0, "index_bytes": 0})
        entry.setdefault("indexes", {})
        if kind == "table":
            entry["table_bytes"] += sizes.get(name, 0)
        else:
            entry["indexes"][name] = sizes.get(name, 0)
            entry["index_bytes"] += sizes.get(name, 0)
    for entry in tables.values():
        entry["total_bytes"] = entry["table_bytes"] + entry["index_bytes"]
    ordered = sorted(tables.values(), key=lambda t: (-t["total_bytes"], t["table"]))[:top]
    return {"tables": ordered, "database_bytes": total}


# --- memory ----------------------------------------------------------------------------------


def _status(pid: int | str) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process in bytes, from /proc (empty where there is none)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    found = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) * 1024
    return found


def _peak_reset() -> bool:
    """Start the peak (VmHWM) of this process afresh, so it tells one job's need (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _kind(pid: int, parent_is_gunicorn: bool) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
    if "gunicorn" in command:
        return "gunicorn worker" if parent_is_gunicorn else "gunicorn master"
    if "celery" in command and "worker" in command:
        return "celery worker"
    if "bench/load.py" in command or "bench.load" in command:
        return "load client"
    return Path(command.split(" ", 1)[0]).name or "other"


class ProcessWatch:
    """Samples the processes the bench starts (gunicorn master and workers, the load client, a
    Celery worker if one runs) twice a second and keeps each kind's largest peak RSS. The peak is
    the kernel's own (VmHWM), so a spike between two samples still counts."""

    def __init__(self, every: float = 0.5):
        self.every = every
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-process-watch", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.every):
            self.sample(me)

    def sample(self, root: int) -> None:
        stack = [(pid, False) for pid in _children_of(root)]
        while stack:
            pid, parent_is_gunicorn = stack.pop()
            kind = _kind(pid, parent_is_gunicorn)
            peak = _status(pid).get("VmHWM")
            if kind and peak:
                self.peaks[kind] = max(self.peaks.get(kind, 0), peak)
            stack += [(child, kind.startswith("gunicorn")) for child in _children_of(pid)]


def memory(watch: ProcessWatch) -> dict:
    """Peak RSS in MB per process kind: this bench process, what it started, and the database
    server process that served it (PostgreSQL on this machine; its RSS counts the shared buffers
    it touched)."""
    found = {"bench process": _status("self").get("VmHWM")}
    found.update(watch.peaks)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = _status(cursor.fetchone()[0]).get("VmHWM")
        if backend:
            found["postgresql backend (bench connection)"] = backend
    return {kind: round(size / MB, 1) for kind, size in found.items() if size}


# --- nightly jobs ----------------------------------------------------------------------------


def housekeeping_schedule() -> list[tuple[str, str, str]]:
    """(name, task, when) of every enabled periodic task run daily or hourly, as beat has them."""
    from django_celery_beat.models import PeriodicTask

    found = []
    try:
        tasks = list(
            PeriodicTask.objects.filter(enabled=True).select_related("crontab", "interval").order_by("name")
        )
    except DatabaseError:  # a database never migrated (the bench migrates only its own)
        return []
    for task in tasks:
        if task.crontab_id:
            found.append((task.name, task.task, f"daily {task.crontab.hour}:{task.crontab.minute}"))
        elif task.interval_id and task.interval.period in HOUSEKEEPING_PERIODS:
            found.append((task.name, task.task, f"every {task.interval.every} {task.interval.period}"))
    return found


class _Undo(Exception):
    pass


def nightly_jobs(schedule: list[tuple[str, str, str]]) -> list[dict]:
    """Each housekeeping task run once, as a worker would run it, at the dataset's scale: seconds
    and the peak RSS it added to this process. Each runs in a transaction rolled back afterwards
    (the dataset stays as built; mail and follow-up tasks start on commit, so none leave), with
    its files in a folder of its own (a purge here must not touch the real media folder)."""
    # The project's app, which Django's start-up loaded (bench may not import config).
    from celery import current_app as app

    app.loader.import_default_modules()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as folder:
        files = {
            name: Path(folder) / name.lower() for name in ("MEDIA_ROOT", "IMPORT_DROP_DIR", "LEDGER_DIR")
        }
        for path in files.values():
            path.mkdir()
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", **files):
            for name, task_name, when in schedule:
                results.append(_one_job(app, name, task_name, when))
    return results


def _one_job(app, name: str, task_name: str, when: str) -> dict:
    row = {"job": name, "task": task_name, "schedule": when}
    task = app.tasks.get(task_name)
    if task is None:
        return {**row, "outcome": "no such task"}
    before = _status("self").get("VmRSS", 0)
    measured_peak = _peak_reset()
    started = time.perf_counter()
    outcome = "ok"
    try:
        with transaction.atomic():
            task.apply(throw=True)
            raise _Undo
    except _Undo:
        pass
    except Exception as problem:  # reported, not raised: one failing job must not hide the others
        outcome = f"failed: {type(problem).__name__}"
    row.update(seconds=round(time.perf_counter() - started, 3), outcome=outcome)
    if measured_peak:
        row["peak_rss_added_mb"] = round(max(_status("self").get("VmHWM", 0) - before, 0) / MB, 1)
    return row
