"""The environment readers: a malformed value stops start-up (ImproperlyConfigured) with a message
naming the variable, instead of falling back to a default in production."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_anymail, env_bool, env_choice, env_email, env_int, env_list, env_str


@pytest.fixture
def env(monkeypatch):
    def set_(value):
        monkeypatch.setenv("SOME_SETTING", value)

    monkeypatch.delenv("SOME_SETTING", raising=False)
    return set_


def test_unset_variables_give_the_defaults(env):
    assert env_str("SOME_SETTING", "dev") == "dev"
    assert env_bool("SOME_SETTING", True) is True
    assert env_int("SOME_SETTING", 7, minimum=10) == 7  # the default is not checked against it
    assert env_choice("SOME_SETTING", "Info", ("info", "debug")) == "info"
    assert env_list("SOME_SETTING", ["a"]) == ["a"]
    assert env_email("SOME_SETTING", "console:")["EMAIL_BACKEND"].endswith("console.EmailBackend")


@pytest.mark.parametrize("raw", ["maybe", "2", "ja", "truee", "y"])
def test_a_malformed_boolean_is_refused(env, raw):
    env(raw)
    with pytest.raises(
        ImproperlyConfigured, match=rf"SOME_SETTING must be a boolean \(true/false\), got '{raw}'"
    ):
        env_bool("SOME_SETTING", False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), (" TRUE ", True), ("on", True), ("off", False), ("", False), ("No", False)],
)
def test_booleans_are_read_in_any_case_with_spaces(env, raw, expected):
    env(raw)
    assert env_bool("SOME_SETTING", not expected) is expected


@pytest.mark.parametrize("raw", ["ten", "1.5", "", "0x10", "1e3"])
def test_a_malformed_integer_is_refused(env, raw):
    env(raw)
    with pytest.raises(ImproperlyConfigured, match=rf"SOME_SETTING must be an integer, got '{raw}'"):
        env_int("SOME_SETTING", 3)


def test_an_integer_below_its_minimum_is_refused(env):
    env("-1")
    with pytest.raises(ImproperlyConfigured, match="SOME_SETTING must be at least 0, got -1"):
        env_int("SOME_SETTING", 3, minimum=0)
    env("0")
    assert env_int("SOME_SETTING", 3, minimum=0) == 0


def test_a_value_outside_the_choices_is_refused(env):
    env("verbose")
    with pytest.raises(ImproperlyConfigured, match="SOME_SETTING must be one of info, debug, got 'verbose'"):
        env_choice("SOME_SETTING", "info", ("info", "debug"))
    env(" DEBUG ")
    assert env_choice("SOME_SETTING", "info", ("info", "debug")) == "debug"


def test_a_default_outside_the_choices_is_refused_too(env):
    with pytest.raises(ImproperlyConfigured, match="got 'trace'"):
        env_choice("SOME_SETTING", "trace", ("info", "debug"))


@pytest.mark.parametrize(("raw", "expected"), [("a, b,,c ", ["a", "b", "c"]), ("", []), (" , ", [])])
def test_lists_drop_spaces_and_empty_items(env, raw, expected):
    env(raw)
    assert env_list("SOME_SETTING", ["default"]) == expected


@pytest.mark.parametrize("raw", ["smtps://mail.example.org", "mail.example.org:25", "http://mail", ""])
def test_an_email_url_with_an_unknown_scheme_is_refused(env, raw):
    env(raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_SETTING scheme must be one of"):
        env_email("SOME_SETTING", "console:")


@pytest.mark.parametrize("raw", ["smtp://mail.example.org:twenty-five", "smtp://mail.example.org:99999"])
def test_an_email_url_with_a_malformed_port_is_refused(env, raw):
    env(raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_SETTING has a malformed port"):
        env_email("SOME_SETTING", "console:")


def test_an_smtp_url_gives_host_port_credentials_and_tls(env):
    env("smtp://user%40example.org:p%2Fss@mail.example.org:587?tls=1")
    assert env_email("SOME_SETTING", "console:") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.org",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "user@example.org",
        "EMAIL_HOST_PASSWORD": "p/ss",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }


def test_a_file_url_gives_the_folder(env):
    env("file:///var/mail/out")
    assert env_email("SOME_SETTING", "console:")["EMAIL_FILE_PATH"] == "/var/mail/out"


# --- the settings module, which reads them -------------------------------------------------------


def settings_with(monkeypatch, **env):
    """Import config.settings afresh under `env`, then as it was."""
    import importlib

    import config.settings

    try:
        with monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            importlib.reload(config.settings)
    finally:
        importlib.reload(config.settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "false", "SECRET_KEY": ""}, "SECRET_KEY must be set when DEBUG is false"),
        ({"CACHE_URL": "memcached://cache:11211"}, "CACHE_URL must be locmem:// or redis://"),
        ({"DEBUG": "nope"}, "DEBUG must be a boolean"),
        ({"DATABASE_CONN_MAX_AGE": "-5"}, "DATABASE_CONN_MAX_AGE must be at least 0"),
        ({"EMAIL_URL": "smtp://mail:port"}, "EMAIL_URL has a malformed port"),
        ({"UNSUBSCRIBE_LINK_DAYS": "7"}, "UNSUBSCRIBE_LINK_DAYS must be at least 30"),
    ],
)
def test_the_settings_refuse_to_start_on_a_malformed_value(monkeypatch, env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        settings_with(monkeypatch, **env)


def test_an_anymail_url_sends_through_that_provider_and_an_unknown_one_is_refused(env, monkeypatch):
    env("anymail://mailgun")
    assert env_email("SOME_SETTING", "console:") == {"EMAIL_BACKEND": "anymail.backends.mailgun.EmailBackend"}
    env("anymail://pigeon")
    with pytest.raises(ImproperlyConfigured, match="anymail://<provider>"):
        env_email("SOME_SETTING", "console:")


def test_anymail_settings_come_from_their_variables(monkeypatch):
    import os

    for name in [n for n in os.environ if n.startswith("ANYMAIL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANYMAIL_MAILGUN_API_KEY", "key-1")
    monkeypatch.setenv("ANYMAIL_WEBHOOK_SECRET", "a:b, c:d ,")
    assert env_anymail() == {"MAILGUN_API_KEY": "key-1", "WEBHOOK_SECRET": ["a:b", "c:d"]}
