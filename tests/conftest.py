"""Personas shared by every test: a privacy officer, a marketer, an auditor and an outsider."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from core.models import ComplianceSettings
from staff.roles import AUDITOR, MARKETER, PRIVACY_OFFICER, sync_roles
from tests.factories import UserFactory, with_consent


@pytest.fixture(autouse=True)
def erasure_ledger(settings, tmp_path, monkeypatch):
    """Each test its own erasure ledger: the database rolls back between tests, the file would not
    (and a ledger ahead of the database stops workers). Subprocesses inherit it."""
    folder = tmp_path / "ledger"
    settings.LEDGER_DIR = folder
    monkeypatch.setenv("LEDGER_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def flush_past_append_only_triggers():
    """Emptying the database after a transactional test deletes audit rows, which the append-only
    triggers (core/append_only.py) refuse on SQLite (PostgreSQL empties tables with TRUNCATE,
    which row triggers do not see): lift them for the flush alone, as the schema's owner could."""
    from django.db import connection

    from core.append_only import sqlite_triggers_lifted

    operations = type(connection.ops)
    original = operations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with sqlite_triggers_lifted(self.connection):
            original(self, sql_list)

    operations.execute_sql_flush = execute_sql_flush
    yield
    operations.execute_sql_flush = original


@pytest.fixture(autouse=True)
def private_folders(request, settings, tmp_path_factory):
    """Each test writes its files (bundles, exports, uploads) into folders of its own, so a residue
    scan never finds another test's files. Tests with a real worker keep the shared VAR_DIR: the
    worker process and the broker folders are set up from it."""
    if {"celery_worker", "celery_workers"} & set(request.fixturenames):
        return
    var = tmp_path_factory.mktemp("var")
    settings.VAR_DIR = var
    settings.MEDIA_ROOT = var / "media"
    settings.IMPORT_DROP_DIR = var / "import-drop"


@pytest.fixture
def roles(db):
    sync_roles()


def _persona(username: str, role: str | None):
    user = UserFactory(username=username)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def privacy_officer(roles):
    return _persona("officer", PRIVACY_OFFICER)


@pytest.fixture
def marketer(roles):
    return _persona("marketer", MARKETER)


@pytest.fixture
def auditor(roles):
    return _persona("auditor", AUDITOR)


@pytest.fixture
def outsider(roles):
    """Staff, so the admin lets them log in, but with no role and so no permission."""
    return _persona("outsider", None)


@pytest.fixture
def client_as():
    """A test client logged in as the given user."""

    def login(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def raise_consent(db):
    """with_consent as a fixture: raise_consent(contact, level=4, purposes={"news": True})."""
    return with_consent


@pytest.fixture
def logging_on(db):
    settings = ComplianceSettings.load()
    settings.log_consent_changes = True
    settings.save()
    return settings


class Inbox:
    """Messages received by a real SMTP server on loopback."""

    def __init__(self):
        self.messages = []
        self.raw = []  # the bytes as they crossed SMTP

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        import email
        from email import policy

        self.raw.append(envelope.content)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def bodies(self, recipient: str | None = None) -> list[str]:
        return [
            m.get_body(preferencelist=("plain",)).get_content()
            for m in self.messages
            if recipient is None or recipient in m["To"]
        ]

    def links(self, recipient: str | None = None) -> list[str]:
        import re

        return [link for body in self.bodies(recipient) for link in re.findall(r"https?://\S+", body)]


def serve_smtp(settings, inbox, controller_class=None):
    """Run a real SMTP server (aiosmtpd) for `inbox` on 127.0.0.1 and point Django at it."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # a free port (the controller's readiness check cannot use 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox.port = port
    controller = (controller_class or Controller)(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return controller


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on 127.0.0.1; Django sends to it over SMTP."""
    inbox = Inbox()
    controller = serve_smtp(settings, inbox)
    yield inbox
    controller.stop()


@pytest.fixture
def smtp(smtp_server):
    """SMTP, with queued tasks run in-process as soon as the view's transaction commits.

    The broker and a real worker are exercised by the celery_worker fixture (e2e and worker tests).
    """
    from config.celery import app

    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield smtp_server
    app.conf.task_always_eager, app.conf.task_eager_propagates = False, False


def database_url() -> str:
    """The URL of the database the tests run on, for a subprocess to open the same one."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class Worker:
    """A real `celery worker` process (solo pool) on the configured broker and the test database."""

    def __init__(self, settings):
        import os

        self.env = {**os.environ, "DATABASE_URL": database_url(), "VAR_DIR": str(settings.VAR_DIR)}
        self.cwd = settings.BASE_DIR
        self.process = None

    def start(self, name: str = ""):
        import subprocess
        import sys

        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=WARNING",
                # Several workers at once need names of their own ("one@test").
                *([f"--hostname={name}"] if name else []),
            ],
            env=self.env,
            cwd=self.cwd,
        )
        return self

    def stop(self):
        import subprocess

        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a stuck worker must not outlive the test run
            self.process.kill()
            self.process.wait(timeout=10)


def _purge_broker():
    # Tasks that earlier tests queued after their commits (nothing ran them) would reach a new
    # worker first: emails a test does not expect, or a backlog that outlasts its waits.
    from config.celery import app

    app.control.purge()


@pytest.fixture
def celery_worker(transactional_db, settings):
    """A real `celery worker` process on the configured broker and the test database.

    Tests add to `worker.env` (e.g. EMAIL_URL) before calling `worker.start()`.
    """
    _purge_broker()
    worker = Worker(settings)
    yield worker
    worker.stop()


@pytest.fixture
def celery_workers(transactional_db, settings):
    """celery_workers(3): that many workers (not started) on the same broker and test database."""
    _purge_broker()
    made = []

    def make(count: int) -> list[Worker]:
        made.extend(Worker(settings) for _ in range(count))
        return made[-count:]

    yield make
    for worker in made:  # all asked to stop first: their warm shutdowns overlap
        if worker.process is not None and worker.process.poll() is None:
            worker.process.terminate()
    for worker in made:
        worker.stop()


def wait_for(predicate, *, seconds: float = 30, message: str = "condition"):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {message}")


def run_together(*functions, seconds: float = 60):
    """Run the functions in threads released at the same moment, each on its own database
    connection (real parallel transactions; needs transactional_db). Returns their results in
    order and re-raises the first error."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(len(functions))
    results, errors = [None] * len(functions), []

    def runner(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as error:  # re-raised in the test's thread below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds)
    if any(thread.is_alive() for thread in threads):
        raise AssertionError(f"threads still running after {seconds}s (a lock wait that never ends?)")
    if errors:
        raise errors[0]
    return results


WORKER_APP_NAME = "consent-office-test-worker"


@pytest.fixture
def cut_worker_connection(celery_worker):
    """cut_worker_connection("table"): lock the table, call once_locked(), wait until the worker's
    next query waits on that lock (so it is mid-task, at a known point), then terminate the worker's database backend
    for real (pg_terminate_backend), as a database restart or a network cut would. The worker
    process lives on; its task sees the connection die.

    PostgreSQL only: SQLite has no connection to cut."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: a connection that can be cut")
    import psycopg

    # libpq reads PGAPPNAME: the worker's connections are the ones named so in pg_stat_activity.
    celery_worker.env["PGAPPNAME"] = WORKER_APP_NAME
    db = connection.settings_dict

    def cut(table: str, *, once_locked=lambda: None) -> int:
        with psycopg.connect(
            host=db.get("HOST") or "127.0.0.1",
            port=db.get("PORT") or 5432,
            user=db.get("USER") or "postgres",
            password=db.get("PASSWORD") or None,
            dbname=db["NAME"],
        ) as holder:
            holder.execute("SET lock_timeout = '60s'")
            # Waits for the worker's current transaction on the table, if any, to end first.
            holder.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
            once_locked()  # e.g. let a worker that the test held go on, into the lock

            def waiting_worker():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                        "AND datname = current_database() AND wait_event_type = 'Lock'",
                        [WORKER_APP_NAME],
                    )
                    row = cursor.fetchone()
                return row and row[0]

            pid = wait_for(waiting_worker, seconds=60, message=f"the worker to wait on {table}")
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                assert cursor.fetchone()[0], "the worker's backend was not terminated"
            holder.rollback()  # releases the lock
        return pid

    return cut
