"""Logs an operator can search and a regulator can read: one JSON object per line when
LOG_FORMAT=json, each carrying the request id, user id, view or task, never personal data.

Paths are never logged: links carry signed tokens (a subscription center link is a key to a
person's data). A request is named by its view; Django's "Not Found: /path" lines lose the path.
Email addresses are masked in every message and traceback as a last line of defence (an SMTP error
names its recipient); names and phone numbers are kept out by logging ids only.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

from operations.metrics import REQUEST_SECONDS, TASK_FAILURES, TASK_SECONDS

_context: ContextVar[dict | None] = ContextVar("log_context", default=None)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_EMAIL = re.compile(r"[^\s'\"<>(),;:@]+@[^\s'\"<>(),;:@]+\.[A-Za-z]{2,}")
requests_log = logging.getLogger("consent_office.requests")
tasks_log = logging.getLogger("consent_office.tasks")


def bind(**values) -> object:
    """Add values to every log line of this request or task; returns a token for unbind."""
    return _context.set({**(_context.get() or {}), **values})


def unbind(token) -> None:
    _context.reset(token)


def mask_emails(text: str) -> str:
    return _EMAIL.sub("[email]", text)


class ContextFilter(logging.Filter):
    """Puts the bound context on each record and strips what may name a person or hold a link."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        message = record.getMessage()
        request = getattr(record, "request", None)
        if request is not None:
            # django.request and django.security: "Not Found: /preferences/<token>/", logged
            # after the middleware has returned: the request object still knows its id.
            record.request_id = getattr(request, "request_id", None)
            del record.request
            message = message.split(":", 1)[0]
        record.msg, record.args = mask_emails(message), ()
        if record.exc_info:
            # Formatted here, masked, and handed on as text (both formatters print exc_text).
            record.exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = mask_emails(record.exc_text)
        return True


class JsonLineFormatter(JsonFormatter):
    def __init__(self, *args, **kwargs):
        super().__init__(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
            **kwargs,
        )


class RequestLogMiddleware:
    """Gives each request an id (the proxy's X-Request-Id when well-formed), binds it to every log
    line, returns it as a header, and logs and measures each request: view, status, duration."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-Id", "")
        request.request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        token = bind(request_id=request.request_id)
        start = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-Id"] = request.request_id
            seconds = time.perf_counter() - start
            user = getattr(request, "user", None)
            match = getattr(request, "resolver_match", None)
            view = match.view_name if match else ""
            # Any method a client invents would become a new series: keep the known ones.
            method = request.method if request.method in _METHODS else "other"
            REQUEST_SECONDS.labels(view or "unresolved", method, str(response.status_code)).observe(seconds)
            requests_log.info(
                "request",
                extra={
                    "method": method,
                    "view": view,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                    "user_id": user.pk if user is not None and user.is_authenticated else None,
                },
            )
            return response
        finally:
            unbind(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Authentication has run by now: later lines of this request name the user and view.
        user = getattr(request, "user", None)
        bind(
            view=request.resolver_match.view_name if request.resolver_match else "",
            user_id=user.pk if user is not None and user.is_authenticated else None,
        )


_task_started: dict[str, tuple[float, object]] = {}


def task_started(task_id=None, task=None, **kwargs) -> None:
    _task_started[task_id] = (time.perf_counter(), bind(task=task.name, task_id=task_id))


def task_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    start, token = _task_started.pop(task_id, (None, None))
    if start is None:
        return
    seconds = time.perf_counter() - start
    TASK_SECONDS.labels(task.name, state or "unknown").observe(seconds)
    if state == "FAILURE":
        TASK_FAILURES.labels(task.name).inc()
    tasks_log.info("task", extra={"state": state, "duration_ms": round(seconds * 1000, 1)})
    unbind(token)
