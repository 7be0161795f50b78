"""Health: liveness needs nothing, readiness names what is down (real services stopped and
started again in these tests), and only officers read the reasons."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from operations.health import HEARTBEAT_TASK
from tests.conftest import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(client) -> tuple[int, list[str]]:
    response = client.get(reverse("operations:ready"))
    return response.status_code, json.loads(response.content)["failing"]


def test_liveness_answers_without_touching_the_database(client):
    # No django_db mark: pytest-django fails any query this request would make.
    response = client.get(reverse("operations:live"))
    assert response.status_code == 200 and response.content == b"ok\n"


@pytest.mark.django_db
def test_readiness_without_worker_and_beat_names_them_and_nothing_more(client):
    status, failing = _ready(client)
    assert status == 503
    assert failing == ["worker", "beat"]
    body = client.get(reverse("operations:ready")).content.decode()
    assert "pong" not in body and "silent" not in body and "heartbeat" not in body


@pytest.mark.django_db
def test_only_officers_and_auditors_read_the_reasons(client_as, privacy_officer, marketer, outsider):
    page = client_as(privacy_officer).get(reverse("operations-health"))
    assert page.status_code == 200
    assert "beat has not sent its heartbeat yet" in page.content.decode()
    assert client_as(marketer).get(reverse("operations-health")).status_code == 403
    assert client_as(outsider).get(reverse("operations-health")).status_code == 403


@pytest.mark.django_db
@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server to start and stop a broker")
def test_readiness_sees_the_broker_stop_and_come_back(client, monkeypatch):
    from config.celery import app

    port = _free_port()
    command = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    saved = app.conf.broker_url
    # Celery reads the environment variable before its own setting.
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{port}/0")
    app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for(lambda: "broker" not in _ready(client)[1], seconds=15, message="the broker to answer")
        server.terminate()
        server.wait(timeout=10)
        status, failing = _ready(client)
        assert status == 503 and "broker" in failing
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_for(lambda: "broker" not in _ready(client)[1], seconds=15, message="the broker to come back")
    finally:
        app.conf.broker_url = saved
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.worker
def test_readiness_passes_with_a_real_worker_and_beat_and_fails_when_beat_stops(
    client, celery_worker, settings
):
    # Made here, not left to the migration: a transactional test before this one empties the table.
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.update_or_create(
        task=HEARTBEAT_TASK,
        defaults={"name": "heartbeat", "interval": every_minute, "enabled": True},
    )
    heartbeat = PeriodicTask.objects.filter(task=HEARTBEAT_TASK)
    heartbeat.update(last_run_at=timezone.now() - timedelta(minutes=2))  # due at once
    # Jobs earlier tests left on the broker would keep a solo worker too busy to answer a ping.
    from config.celery import app

    app.control.purge()
    celery_worker.start()

    last = []

    def ready_now() -> bool:
        last[:] = [_ready(client)]
        return last[0] == (200, [])

    def start_beat():
        schedule = Path(settings.VAR_DIR) / "test-beat-schedule"
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=WARNING",
                "-s",
                str(schedule),
            ],
            env=celery_worker.env,
            cwd=settings.BASE_DIR,
        )

    beat = start_beat()
    try:
        try:
            wait_for(ready_now, seconds=120, message="worker and beat to be ready")
        except AssertionError as error:
            raise AssertionError(f"{error}; last answer {last}") from None
        beat.terminate()
        beat.wait(timeout=30)
        # Beat is gone; four minutes pass without a heartbeat.
        heartbeat.update(last_run_at=timezone.now() - timedelta(minutes=4))
        status, failing = _ready(client)
        assert status == 503 and failing == ["beat"]
        beat = start_beat()
        wait_for(ready_now, seconds=120, message="beat to come back")
    finally:
        beat.terminate()
        beat.wait(timeout=30)


def _as_postgres_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.mark.skipif(
    not shutil.which("initdb") or not shutil.which("pg_ctl"), reason="needs PostgreSQL's initdb and pg_ctl"
)
def test_health_command_sees_the_database_stop_and_come_back(settings):
    """A throwaway PostgreSQL cluster, stopped and started under `manage.py health`."""
    folder = Path(tempfile.mkdtemp(prefix="health-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    port = _free_port()
    pg_ctl = _as_postgres_user(
        ["pg_ctl", "-D", str(data), "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "-w"]
    )
    subprocess.run(
        _as_postgres_user(["initdb", "-D", str(data), "-U", "postgres", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/postgres",
        "VAR_DIR": str(settings.VAR_DIR),
    }

    def health() -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", "health", "database"],
            env=env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return next(line for line in result.stdout.splitlines() if line.startswith("database"))

    try:
        subprocess.run([*pg_ctl, "start", "-l", str(folder / "log")], check=True, capture_output=True)
        assert health().split()[1] == "ok"
        subprocess.run([*pg_ctl, "stop", "-m", "fast"], check=True, capture_output=True)
        assert "FAILING" in health()
        subprocess.run([*pg_ctl, "start", "-l", str(folder / "log")], check=True, capture_output=True)
        assert health().split()[1] == "ok"
    finally:
        subprocess.run([*pg_ctl, "stop", "-m", "immediate"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
