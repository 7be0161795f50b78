"""The subscription center under gunicorn, driven by a separate client process (bench/load.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from bench.measurements.common import Result
from contacts.models import Contact


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port() -> int:
    """BENCH_PORT when set (machines shared by several runs hand each its own ports), else any free one."""
    import os
    import socket

    if os.environ.get("BENCH_PORT"):
        return int(os.environ["BENCH_PORT"])

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _workers_cpu_s(master_pid: int) -> float | None:
    """CPU seconds used so far by the gunicorn master's workers, from /proc (None elsewhere).

    On shared cores the requests per second of one run swing with other work; the workers' CPU
    time per request barely does, so it is reported next to them.
    """
    import glob
    import os

    total = None
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == master_pid:  # fields: state, ppid, ..., utime (12th), stime (13th)
            total = (total or 0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _load(
    port: int, path: str, method: str, seconds: float, concurrency: int, cookie: str = "", master_pid=None
) -> dict:
    import json
    import subprocess

    script = settings.BASE_DIR / "bench" / "load.py"
    args = [
        sys.executable,
        str(script),
        "127.0.0.1",
        str(port),
        path,
        method,
        str(concurrency),
        str(seconds),
        cookie,
    ]
    cpu_before = _workers_cpu_s(master_pid) if master_pid else None
    result = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    cpu_after = _workers_cpu_s(master_pid) if master_pid else None
    if cpu_before is not None and cpu_after is not None and result["requests"]:
        result["cpu_ms"] = (cpu_after - cpu_before) / result["requests"] * 1000
    return result


def subscription_center(seconds: float, concurrency: int = 4) -> list[Result]:
    """Requests per second of the subscription center (GET, and GET + POST of the unchanged form)
    under gunicorn with 2 workers on loopback, driven by a separate client process, vs a bare view
    rendering the same template with no query per request. Production settings (DEBUG off, behind
    a TLS proxy); rate limits are off for the run. The POST alone is the pair less its GET."""
    from urllib.parse import urlparse

    from subscriptions.services import center_link

    contact = Contact.objects.filter(
        processing_restricted=False, is_child=False, consent_given__gte=3
    ).first()
    link = urlparse(center_link(contact=contact)).path
    port = _free_port()
    server = _gunicorn(port)
    try:
        cookie = _session_cookie(port, link)
        # Warm-up, not counted: each worker loads its templates, translations and connection first.
        for path, method, jar in (("/bench/bare-center/", "GET", ""), ("/preferences/", "POST", cookie)):
            _load(port, path, method, min(2.0, seconds / 5), concurrency, jar)
        bare = _load(port, "/bench/bare-center/", "GET", seconds, concurrency, master_pid=server.pid)
        get = _load(port, "/preferences/", "GET", seconds, concurrency, cookie, master_pid=server.pid)
        post = _load(port, "/preferences/", "POST", seconds, concurrency, cookie, master_pid=server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    n = Contact.objects.count()
    return [
        _center_row("subscription center GET (gunicorn -w 2)", n, get, bare, f"{concurrency} client threads"),
        _center_row(
            "subscription center GET+POST (gunicorn -w 2)",
            n,
            post,
            bare,
            "per pair; baseline is the bare GET; post_* is the pair less its GET",
            get,
        ),
    ]


def _gunicorn(port: int):
    """gunicorn with 2 workers on the bench database with production settings: DEBUG off (which
    records every query and skips nothing), behind a TLS proxy (load.py sends X-Forwarded-Proto),
    static files from a manifest collected for the run; rate limits off."""
    import os
    import subprocess

    static_root = settings.VAR_DIR / "bench" / "static"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "RATE_LIMITS_ENABLED": "false",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,  # the key that signed the center link
        "ALLOWED_HOSTS": "127.0.0.1",
        "TRUST_X_FORWARDED_PROTO": "true",
        "STATIC_ROOT": str(static_root),
    }
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=settings.BASE_DIR, env=env, check=True)
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "bench.wsgi:application",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=settings.BASE_DIR,
        env=env,
    )


def _session_cookie(port: int, link: str) -> str:
    """Open the center's signed link once the server answers; the session cookie it sets."""
    import http.client

    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", link, headers={"X-Forwarded-Proto": "https"})
            response = conn.getresponse()
            response.read()
            break
        except OSError:
            time.sleep(0.1)
    return "; ".join(
        part.split(";")[0] for part in response.headers.get_all("Set-Cookie") or [] if "sessionid" in part
    )


def _center_row(name: str, n: int, measured: dict, bare: dict, note: str, get: dict | None = None) -> Result:
    extra = {
        "per_s": round(measured["per_s"], 1),
        "baseline_per_s": round(bare["per_s"], 1),
        "statuses": measured["statuses"],
        "note": note,
    }
    if "cpu_ms" in measured and "cpu_ms" in bare:
        extra.update(cpu_ms=round(measured["cpu_ms"], 2), baseline_cpu_ms=round(bare["cpu_ms"], 2))
    if get is not None:
        # The POST alone (goal: within 2x of the GET): the pair's time per request less the GET's.
        post_ms = max(1000 / measured["per_s"] - 1000 / get["per_s"], 0.0)
        extra.update(post_ms=round(post_ms, 2), post_vs_get=round(post_ms * get["per_s"] / 1000, 2))
        if "cpu_ms" in measured and "cpu_ms" in get:
            post_cpu = measured["cpu_ms"] - get["cpu_ms"]
            extra.update(post_cpu_ms=round(post_cpu, 2), post_vs_get_cpu=round(post_cpu / get["cpu_ms"], 2))
    return Result(name, n, 1 / measured["per_s"], 1 / bare["per_s"], extra=extra)
