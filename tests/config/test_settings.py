"""Defaults the settings module derives from the environment."""

import importlib

import pytest

import config.settings


def conn_max_age(monkeypatch, **env) -> int:
    with monkeypatch.context() as patch:
        for name in ("DATABASE_URL", "DATABASE_CONN_MAX_AGE"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        try:
            return importlib.reload(config.settings).DATABASES["default"]["CONN_MAX_AGE"]
        finally:
            patch.undo()
            importlib.reload(config.settings)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, 60),
        ({"DATABASE_CONN_MAX_AGE": "0"}, 0),
        ({"DATABASE_URL": "postgres://consent@db:5432/consent"}, 0),
        ({"DATABASE_URL": "postgres://consent@db:5432/consent", "DATABASE_CONN_MAX_AGE": "30"}, 30),
    ],
)
def test_sqlite_keeps_its_connections_unless_told_and_other_databases_only_when_told(
    monkeypatch, env, expected
):
    assert conn_max_age(monkeypatch, **env) == expected
