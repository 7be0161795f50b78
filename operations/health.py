"""Is the product able to serve and to work? One list of checks for the readiness endpoint, the
officers' health page and `manage.py health` (issue 23: load balancers, orchestrators, scripts).

The database and storage checks come from django-health-check; the cache, broker, migrations,
worker, beat and erasure checks are ours. A check raises a HealthCheckException whose message
names the problem without secrets (no URL, no password, no personal data): it is shown to
officers, and only the check's name to the public.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import timeit
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from health_check.checks import Database, Storage
from health_check.contrib.celery import Ping
from health_check.exceptions import HealthCheckException, ServiceUnavailable

logger = logging.getLogger(__name__)

HEARTBEAT_TASK = "operations.beat_heartbeat"
# Beat sends the heartbeat every minute and writes when it did right away (CELERY_BEAT_SYNC_EVERY):
# silence past 3 minutes means beat is down.
BEAT_SILENT_AFTER = datetime.timedelta(minutes=3)


@dataclasses.dataclass
class Broker:
    """The Celery broker accepts connections (Redis, RabbitMQ), or its folder is writable."""

    timeout = datetime.timedelta(seconds=3)

    def run(self) -> None:
        from celery import current_app as app  # the project's app (config/celery.py), without importing it

        if app.conf.broker_url.startswith("filesystem://"):
            folder = Path(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get("data_folder_in", "."))
            if not folder.is_dir() or not _writable(folder):
                raise ServiceUnavailable("the broker folder is missing or not writable")
            return
        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=self.timeout.total_seconds())
        except Exception as error:  # kombu wraps each transport's errors differently
            raise ServiceUnavailable(f"the broker refuses connections ({type(error).__name__})") from error


@dataclasses.dataclass
class Cache:
    """The cache stores and returns a value. django-health-check's own check is asynchronous
    (cache.aset through sync_to_async), which after other async work in the same process was seen
    to fail where a plain set and get succeed: this one is synchronous, like the cache's users."""

    def run(self) -> None:
        from django.core.cache import cache

        key, value = f"health:{uuid.uuid4().hex}", uuid.uuid4().hex
        try:
            cache.set(key, value, timeout=10)
            stored = cache.get(key)
            cache.delete(key)
        except Exception as error:  # each cache backend raises its own errors
            raise ServiceUnavailable(f"the cache refuses connections ({type(error).__name__})") from error
        if stored != value:
            raise ServiceUnavailable("the cache did not return what it was given")


@dataclasses.dataclass
class Migrations:
    """Every migration is applied: code newer than the schema would fail on its first query."""

    def run(self) -> None:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise ServiceUnavailable(f"{len(pending)} migrations are not applied (run manage.py migrate)")


@dataclasses.dataclass
class Worker:
    """A Celery worker answers a ping: without one no email, import or erasure job runs."""

    def run(self) -> None:
        Ping(timeout=datetime.timedelta(seconds=2), limit=1).run()


@dataclasses.dataclass
class Beat:
    """Celery beat sent its heartbeat recently: without beat no scheduled job (reminders,
    retention purges, resumed imports) ever starts."""

    def run(self) -> None:
        from django_celery_beat.models import PeriodicTask

        last = (
            PeriodicTask.objects.filter(task=HEARTBEAT_TASK, enabled=True)
            .values_list("last_run_at", flat=True)
            .first()
        )
        if last is None:
            raise ServiceUnavailable("beat has not sent its heartbeat yet")
        silent = timezone.now() - last
        if silent > BEAT_SILENT_AFTER:
            raise ServiceUnavailable(f"beat has been silent for {int(silent.total_seconds() // 60)} minutes")


@dataclasses.dataclass
class Erasures:
    """The database knows every erasure in the ledger: after a restore from an older backup it
    does not, and nobody erased since may be processed until `manage.py erasures_reapply` ran."""

    def run(self) -> None:
        from dsr.ledger import LedgerBroken, ledger_gap

        try:
            gap = ledger_gap()
        except LedgerBroken as error:
            raise ServiceUnavailable(f"the erasure ledger is broken ({error})") from None
        if gap:
            raise ServiceUnavailable(
                f"{len(gap.missing)} erasures in the ledger are missing from the database "
                "(restored from an older backup?): run manage.py erasures_reapply"
            )


def _writable(folder: Path) -> bool:
    probe = folder / ".health"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return False
    return True


CHECKS = {
    "database": Database,
    "migrations": Migrations,
    "cache": Cache,
    "storage": Storage,
    "broker": Broker,
    "worker": Worker,
    "beat": Beat,
    "erasures": Erasures,
}


@dataclasses.dataclass(frozen=True)
class Result:
    name: str
    problem: str  # empty when healthy
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problem


def run_checks(names: list[str] | None = None) -> list[Result]:
    """Run the checks (all by default) in this thread, one after the other; each has its own
    short timeout."""
    results = []
    for name, check_class in CHECKS.items():
        if names is not None and name not in names:
            continue
        check = check_class()
        start = timeit.default_timer()
        try:
            check.run()
            problem = ""
        except HealthCheckException as error:
            problem = str(error.message) if hasattr(error, "message") else str(error)
        except Exception:
            logger.exception("health check %s crashed", name)
            problem = "the check itself failed (see the server log)"
        results.append(Result(name, problem, timeit.default_timer() - start))
    return results
