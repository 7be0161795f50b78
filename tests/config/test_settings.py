"""Defaults the settings module derives from the environment."""

import importlib

import pytest

import config.settings


def database_settings(monkeypatch, **env) -> dict:
    with monkeypatch.context() as patch:
        for name in ("DATABASE_URL", "DATABASE_CONN_MAX_AGE", "DATABASE_BEHIND_TRANSACTION_POOLER"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        try:
            return dict(importlib.reload(config.settings).DATABASES["default"])
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
