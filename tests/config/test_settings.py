"""Defaults the settings module derives from the environment."""

import importlib
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

import config.settings


def database_settings(monkeypatch, alias="default", **env) -> dict:
    with monkeypatch.context() as patch:
        for name in (
            "DATABASE_URL",
            "DATABASE_REPLICA_URL",
            "DATABASE_CONN_MAX_AGE",
            "DATABASE_BEHIND_TRANSACTION_POOLER",
        ):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        try:
            return dict(importlib.reload(config.settings).DATABASES[alias])
        finally:
            patch.undo()
            importlib.reload(config.settings)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, 60),
        ({"DATABASE_CONN_MAX_AGE": "0"}, 0),
        ({"DATABASE_URL": "postgres://consent@db:5432/consent"}, 60),
        ({"DATABASE_URL": "postgres://consent@db:5432/consent", "DATABASE_CONN_MAX_AGE": "0"}, 0),
    ],
)
def test_connections_are_kept_a_minute_and_checked_before_reuse_unless_told(monkeypatch, env, expected):
    database = database_settings(monkeypatch, **env)
    assert database["CONN_MAX_AGE"] == expected
    assert database["CONN_HEALTH_CHECKS"] is True


def test_behind_a_transaction_pooler_no_server_side_cursor_is_opened(monkeypatch):
    url = "postgres://consent@pgbouncer:6432/consent"
    assert database_settings(monkeypatch, DATABASE_URL=url)["DISABLE_SERVER_SIDE_CURSORS"] is False
    pooled = database_settings(monkeypatch, DATABASE_URL=url, DATABASE_BEHIND_TRANSACTION_POOLER="true")
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_a_read_replica_connects_as_the_primary_does_and_mirrors_it_in_tests(monkeypatch):
    replica = database_settings(
        monkeypatch,
        "replica",
        DATABASE_URL="postgres://consent@db:5432/consent",
        DATABASE_REPLICA_URL="postgres://consent@db-replica:5432/consent",
        DATABASE_CONN_MAX_AGE="0",
    )
    assert (replica["HOST"], replica["NAME"], replica["CONN_MAX_AGE"]) == ("db-replica", "consent", 0)
    assert replica["TEST"] == {"MIRROR": "default"}  # no test database made on a read-only server


def test_a_read_replica_beside_sqlite_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL"):
        database_settings(monkeypatch, DATABASE_REPLICA_URL="postgres://consent@db-replica:5432/consent")


def test_a_silent_smtp_server_makes_a_send_fail_instead_of_holding_the_worker(monkeypatch, settings):
    import socket
    import threading

    from django.core.mail import get_connection

    monkeypatch.delenv("EMAIL_TIMEOUT", raising=False)
    assert importlib.reload(config.settings).EMAIL_TIMEOUT == 30  # the default a deployment gets

    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = silent.getsockname()
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 1
        outcome = []

        def send():
            try:
                get_connection().open()
                outcome.append("opened")
            except OSError as error:  # smtplib reports the timeout as a disconnection
                outcome.append(str(error))

        worker = threading.Thread(target=send, daemon=True)
        worker.start()
        worker.join(timeout=30)
    assert len(outcome) == 1 and "timed out" in outcome[0]


@pytest.mark.django_db
def test_links_signed_with_a_rotated_secret_key_open_while_it_is_a_fallback(monkeypatch, settings):
    """SECRET_KEY_FALLBACKS comes from the environment, and keeps emailed links working."""
    from subscriptions import tokens
    from tests.factories import ContactFactory

    old, new = "o" * 50, "n" * 50
    settings.SECRET_KEY = old
    _, link = tokens.issue(kind="center", contact=ContactFactory(), lifetime=timedelta(days=1))
    with monkeypatch.context() as patch:
        patch.setenv("SECRET_KEY", new)
        patch.setenv("SECRET_KEY_FALLBACKS", old)
        try:
            fallbacks = importlib.reload(config.settings).SECRET_KEY_FALLBACKS
        finally:
            patch.undo()
            importlib.reload(config.settings)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = new, fallbacks
    assert tokens.resolve(link, kind="center").kind == "center"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(tokens.InvalidLink):
        tokens.resolve(link, kind="center")
