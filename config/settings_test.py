"""The settings the test suite runs with: the project's own, each pytest-xdist process kept apart.

`make test` runs the suite in several processes (pytest-xdist). Each needs a folder of its own (the
SQLite file, the filesystem broker, files the tests write) and Redis databases of its own (a test
empties the cache; a Celery worker a test starts takes every task on its broker), or one process
would see the other's files, counters and tasks. Subprocesses a test starts (a worker, beat) inherit
the adjusted environment, and the marker keeps them from adjusting it twice.
"""

import os
import re
from pathlib import Path

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and os.environ.get("CONSENT_OFFICE_TEST_PROCESS") != _WORKER:
    os.environ["CONSENT_OFFICE_TEST_PROCESS"] = _WORKER
    # Screenshots for people still land in the run's folder (tests/screenshots.py).
    os.environ.setdefault("TEST_RUN_VAR_DIR", os.environ.get("VAR_DIR") or "var")
    _index = int(_WORKER.removeprefix("gw"))
    os.environ["VAR_DIR"] = str(Path(os.environ.get("VAR_DIR") or "var") / _WORKER)
    # Redis has 16 databases: 0 and 1 stay for a single process, then two per worker.
    for _name, _offset in (("CELERY_BROKER_URL", 2), ("CACHE_URL", 3)):
        _url = os.environ.get(_name, "")
        if _url.startswith(("redis://", "rediss://")):
            os.environ[_name] = re.sub(r"(/\d+)?$", f"/{_offset + 2 * _index}", _url, count=1)

from config.settings import *  # noqa: E402, F403

# The suite creates a user (with a password) for nearly every test; the production hasher's million
# PBKDF2 rounds cost ~0.5 s each on a CI core. Tests check who may do what, not the hash's strength.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# PostgreSQL: a test's commit need not wait for the WAL to reach the disk (transactional tests and
# the worker subprocesses, which read these settings too, commit thousands of times a run). Nothing
# a test asserts depends on durability across a server crash.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"  # noqa: F405

# With DATABASE_REPLICA_URL set, the suite's replica alias is the test database on the primary (a
# mirror, which core.db_router never routes to): a test reading rows it just committed must not
# depend on a replica's lag. tests/config/test_db_router.py starts a real replica of its own.
if "replica" in DATABASES:  # noqa: F405
    for _key in ("HOST", "PORT", "USER", "PASSWORD", "OPTIONS"):
        DATABASES["replica"][_key] = DATABASES["default"][_key]  # noqa: F405
