"""Password sign-ins to the admin in the staff access log, as single sign-on's are (staff.sso_views):
one entry per accepted or refused password, written by staff.access_log.record_access.

Only the admin's login form counts (a test client's or a script's login is no sign-in of a person).
A refused password is recorded against the account it named; a name no account has leaves no
entry, so the log (user id, time, address, path: nothing else) never holds a typed-in name, and the
login page answers both the same. Neither the password nor the name typed is stored.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.urls import reverse

from staff.access_log import record_access
from staff.models import AccessLogEntry

PASSWORD_BACKEND = f"{ModelBackend.__module__}.{ModelBackend.__qualname__}"


def _from_login_form(request) -> bool:
    return request is not None and request.method == "POST" and request.path == reverse("admin:login")


def record_password_sign_in(sender, request, user, **kwargs) -> None:
    # Single sign-on logs in through its own backend and records itself.
    if _from_login_form(request) and getattr(user, "backend", "") == PASSWORD_BACKEND:
        record_access(request=request, action=AccessLogEntry.Action.PASSWORD_LOGIN, contact_ids=(), user=user)


def record_password_refused(sender, credentials, request=None, **kwargs) -> None:
    if not _from_login_form(request):
        return
    model = get_user_model()
    # The lookup ModelBackend made: the account the typed name would have signed in to, if any.
    user = model._default_manager.filter(**{model.USERNAME_FIELD: credentials.get("username")}).first()
    if user is not None:
        record_access(
            request=request,
            action=AccessLogEntry.Action.PASSWORD_REFUSED,
            contact_ids=(),
            user=user,
            path=f"{request.path}?refused=password",
        )


def connect() -> None:
    user_logged_in.connect(record_password_sign_in, dispatch_uid="staff.password_sign_in")
    user_login_failed.connect(record_password_refused, dispatch_uid="staff.password_refused")
