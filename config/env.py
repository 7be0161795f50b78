"""Typed readers for environment variables.

Each helper returns a safe development default when the variable is unset and
raises ImproperlyConfigured when it is set to something malformed, so a typo in
production fails at start-up instead of silently falling back.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_pairs(name: str) -> dict[str, str]:
    """`key=value,key=value` (e.g. OIDC_ROLE_MAP=privacy=Privacy officer,marketing=Marketer)."""
    pairs = {}
    for item in env_list(name, []):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ImproperlyConfigured(f"{name} must be key=value pairs separated by commas, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


# django-anymail's providers whose webhooks and backends this product supports by configuration.
ANYMAIL_PROVIDERS = frozenset(
    {
        "brevo",
        "mailersend",
        "mailgun",
        "mailjet",
        "mailtrap",
        "mandrill",
        "postal",
        "postmark",
        "resend",
        "sendgrid",
        "sparkpost",
        "unisender_go",
    }
)


def env_anymail() -> dict:
    """ANYMAIL settings from every ANYMAIL_<NAME> variable (ANYMAIL_MAILGUN_API_KEY -> MAILGUN_API_KEY);
    ANYMAIL_WEBHOOK_SECRET may hold several user:password pairs separated by commas (rotation)."""
    found = {
        key.removeprefix("ANYMAIL_"): value for key, value in os.environ.items() if key.startswith("ANYMAIL_")
    }
    if "WEBHOOK_SECRET" in found:
        found["WEBHOOK_SECRET"] = [
            pair.strip() for pair in found["WEBHOOK_SECRET"].split(",") if pair.strip()
        ]
    return found


def env_email(name: str, default: str) -> dict:
    """Parse EMAIL_URL: smtp://user:pass@host:port[?tls=1|ssl=1], console:, locmem:, file:///dir,
    or anymail://<esp> (e.g. anymail://mailgun: django-anymail's backend for that provider, its
    keys in ANYMAIL_* variables)."""
    raw = os.environ.get(name, default)
    url = urlparse(raw)
    backends = {
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "file": "django.core.mail.backends.filebased.EmailBackend",
    }
    if url.scheme == "anymail":
        esp = url.hostname or ""
        if esp not in ANYMAIL_PROVIDERS:
            raise ImproperlyConfigured(
                f"{name}: anymail://<provider> with one of {sorted(ANYMAIL_PROVIDERS)}, got {raw!r}"
            )
        return {"EMAIL_BACKEND": f"anymail.backends.{esp}.EmailBackend"}
    if url.scheme not in backends:
        raise ImproperlyConfigured(f"{name} scheme must be one of {sorted(backends)}, got {raw!r}")
    query = {key: values[-1] for key, values in parse_qs(url.query).items()}
    try:
        port = url.port or 25
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a malformed port: {raw!r}") from None
    config = {"EMAIL_BACKEND": backends[url.scheme]}
    if url.scheme == "smtp":
        config.update(
            EMAIL_HOST=url.hostname or "localhost",
            EMAIL_PORT=port,
            EMAIL_HOST_USER=unquote(url.username or ""),
            EMAIL_HOST_PASSWORD=unquote(url.password or ""),
            EMAIL_USE_TLS=query.get("tls", "0").lower() in _TRUE,
            EMAIL_USE_SSL=query.get("ssl", "0").lower() in _TRUE,
        )
    elif url.scheme == "file":
        config["EMAIL_FILE_PATH"] = url.path
    return config
