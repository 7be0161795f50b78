"""Reads routed to a real PostgreSQL streaming replica (core.db_router, DATABASE_REPLICA_URL).

For this module a primary cluster and its hot standby run on loopback: the primary made with
initdb and given a copy of the Django test database, the standby made from it with pg_basebackup -R
and streaming from it. While the tests run, Django's default connection points at that primary, so
the replica replays exactly what the tests write. Replay is paused to show who answers a read: a
count from the replica then misses the contact just written, one from the primary has it.

PostgreSQL only; skipped with the reason when the server's binaries (initdb, pg_ctl, pg_basebackup)
are not on this machine or a server cannot be started.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.db import connection, connections
from django.db.models import BooleanField, IntegerField
from django.db.models.expressions import RawSQL
from django.http import HttpResponse
from django.test import RequestFactory

from contacts.models import Contact
from core.db_router import (
    PIN_COOKIE,
    REPLICA,
    ReadYourWritesMiddleware,
    replica_caught_up,
    replica_reads,
    writes_tracked,
)
from journeys.models import SegmentExport
from journeys.selectors import segment_members
from journeys.services import segment_export_build, segment_member_count
from tests.factories import ContactFactory, UserFactory, make_segment

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a streaming replica needs PostgreSQL"),
    pytest.mark.django_db(transaction=True, databases=["default", REPLICA]),
]
PORTS = range(5440, 5450)


def _cannot(reason: str):
    """No replica here: a skip on a developer's machine, a failure in CI (which must run this test,
    as it must the browser tests)."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _free_ports(count: int) -> list[int]:
    free = []
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                free.append(port)
        if len(free) == count:
            return free
    _cannot(f"no {count} free ports in {PORTS.start}-{PORTS.stop - 1} for the primary and the replica")


def _bin_dir(major: int) -> Path:
    for folder in (Path(f"/usr/lib/postgresql/{major}/bin"), Path(shutil.which("pg_ctl") or "/").parent):
        if all((folder / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup")):
            return folder
    _cannot(f"initdb, pg_ctl and pg_basebackup of PostgreSQL {major} are not installed here")


def _forget_replica_connection() -> None:
    """The next use of the alias connects with its settings as they are then."""
    if hasattr(connections._connections, REPLICA):
        connections[REPLICA].close()
        del connections[REPLICA]


@pytest.fixture(scope="module")
def clusters(django_db_setup, django_db_blocker):
    """A primary holding a copy of the test database and its streaming replica; their ports."""
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    bin_dir = _bin_dir(major)
    primary_port, replica_port = _free_ports(2)
    # pg_ctl refuses root: the servers run as the postgres user, in a folder it can reach.
    as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="replica-test-", dir="/tmp"))
    if as_server:
        os.chown(base, pwd.getpwnam("postgres").pw_uid, -1)
    primary, replica = base / "primary", base / "replica"
    started, suite_replica = [], connections.settings.get(REPLICA)

    def run(*args, **kwargs):
        result = subprocess.run([*as_server, *map(str, args)], capture_output=True, text=True, **kwargs)
        if result.returncode:
            _cannot(f"{Path(str(args[0])).name} failed: {result.stderr.strip()[-300:]}")

    def start(data: Path, port: int):
        run(bin_dir / "pg_ctl", "-D", data, "-l", data / "server.log", "-w", "-o", f"-p {port}", "start")
        started.append(data)

    # The test database, dumped from the server the suite runs on while the primary is made.
    name, port = connection.settings_dict["NAME"], str(connection.settings_dict["PORT"] or 5432)
    client = ["-h", "127.0.0.1", "-U", "postgres"]
    dump = base / "test-database.sql"
    with open(dump, "w") as out:
        dumping = subprocess.Popen(
            [bin_dir / "pg_dump", *client, "-p", port, "--no-owner", name],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
    try:
        run(bin_dir / "initdb", "-D", primary, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nunix_socket_directories = '{base}'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\nshared_buffers = 16MB\nmax_connections = 20\n"
            )
        start(primary, primary_port)
        run(bin_dir / "createdb", *client, "-p", primary_port, "-T", "template0", name)
        _, error = dumping.communicate()
        if dumping.returncode:
            _cannot(f"pg_dump failed: {error.strip()[-300:]}")
        # Restored in one transaction: a commit per statement costs seconds here.
        restore = ["-q", "--single-transaction", "-v", "ON_ERROR_STOP=1"]
        run(bin_dir / "psql", *client, "-p", primary_port, *restore, "-d", name, "-f", dump)
        run(bin_dir / "pg_basebackup", *client, "-p", primary_port, "-D", replica, "-R", "-X", "stream",
            "--checkpoint=fast", "--no-sync")  # fmt: skip
        start(replica, replica_port)
        # The alias as DATABASE_REPLICA_URL makes it, before the test's allowed databases are set
        # (with DATABASE_REPLICA_URL set, this replaces the suite's mirror for the module).
        _forget_replica_connection()
        connections.settings[REPLICA] = {
            **connection.settings_dict,
            "PORT": replica_port,
            "TEST": {"MIRROR": "default"},
        }
        yield primary_port, replica_port
    finally:
        dumping.kill()
        dumping.wait()
        _forget_replica_connection()
        connections.settings.pop(REPLICA, None)
        if suite_replica is not None:
            connections.settings[REPLICA] = suite_replica
        for data in reversed(started):
            subprocess.run(
                [*as_server, bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True
            )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def replica(clusters, settings):
    """Django's default connection on the module's primary, beside its replica; the two ports."""
    primary_port, replica_port = clusters
    default = connections["default"]
    original = default.settings_dict["PORT"]
    default.close()
    default.settings_dict["PORT"] = primary_port
    settings.DATABASE_REPLICA_PIN_SECONDS = 5
    try:
        with writes_tracked():
            yield primary_port, replica_port
    finally:
        default.close()
        default.settings_dict["PORT"] = original


def _replay(on: bool) -> None:
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()" if on else "SELECT pg_wal_replay_pause()")


def _answered_by() -> tuple[int, bool]:
    """The port and standby state of the server that answers an ORM read here."""
    return (
        Contact.objects.annotate(
            port=RawSQL("inet_server_port()", (), output_field=IntegerField()),
            standby=RawSQL("pg_is_in_recovery()", (), output_field=BooleanField()),
        )
        .values_list("port", "standby")
        .first()
    )


def test_marked_reads_go_to_the_replica_and_never_hide_a_requests_own_writes(replica):
    primary_port, replica_port = replica
    segment = make_segment({"field": "country", "op": "eq", "value": "DE"}, name="Germany")
    user = UserFactory()
    for _ in range(3):
        ContactFactory(country="DE")
    assert replica_caught_up(timeout=30)

    with writes_tracked():  # a new request or task: it has written nothing yet
        with replica_reads():
            assert _answered_by() == (replica_port, True)
        assert _answered_by() == (primary_port, False)  # unmarked reads: the primary

        _replay(False)
        try:
            with replica_reads():
                ContactFactory(country="DE")  # a write inside the block goes to the primary
                # ... and the block's reads after it too (read-your-writes)
                assert segment_member_count(segment=segment) == 4
            with writes_tracked():  # another request: its segment count comes from the paused replica
                assert segment_member_count(segment=segment) == 3
                assert segment_members(segment=segment).count() == 4  # unmarked: the primary
        finally:
            _replay(True)

    assert replica_caught_up(timeout=30)
    with writes_tracked():
        assert segment_member_count(segment=segment) == 4  # from the replica, caught up

        # A segment export job marks itself running (a write), waits for the replica to replay
        # it, then reads the members from the replica: the same rows as the primary holds.
        export = SegmentExport.objects.create(segment=segment, requested_by=user, format="csv")
        replica_connection = connections[REPLICA]
        before = len(replica_connection.queries_log)
        replica_connection.force_debug_cursor = True
        try:
            export = segment_export_build(export_id=export.pk)
        finally:
            replica_connection.force_debug_cursor = False
        read_there = [q["sql"] for q in list(replica_connection.queries_log)[before:]]
    assert export.status == SegmentExport.Status.DONE
    assert export.written == export.total == 4
    assert any("contacts_contact" in sql for sql in read_there)

    # A request that wrote reads the primary, and so do the browser's next requests.
    segment = make_segment({"field": "country", "op": "eq", "value": "AT"}, name="Austria")
    ContactFactory(country="AT")
    assert replica_caught_up(timeout=30)

    def saves_then_counts(request):
        if request.method == "POST":
            ContactFactory(country="AT")
        return HttpResponse(str(segment_member_count(segment=segment)))

    view = ReadYourWritesMiddleware(saves_then_counts)
    factory = RequestFactory()
    _replay(False)
    try:
        posted = view(factory.post("/"))
        assert posted.content == b"2"  # its own write counted: read on the primary
        assert posted.cookies[PIN_COOKIE]["max-age"] == 5

        follow = factory.get("/")
        follow.COOKIES[PIN_COOKIE] = "1"
        assert view(follow).content == b"2"  # the redirect after the POST: still the primary

        assert view(factory.get("/")).content == b"1"  # anyone else: the replica, behind
    finally:
        _replay(True)
    assert replica_caught_up(timeout=30)
    assert view(factory.get("/")).content == b"2"
