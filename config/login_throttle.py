"""Admin login throttling: after repeated failures, further attempts are refused for a while.

Counted per (account, client address) so a password guesser is stopped on the fifth wrong guess,
and per client address so one machine cannot walk through many accounts. Counters live in the
cache (Redis in production, shared by all web workers) under hashed keys: no address or username
is stored. A successful login clears the account's counter.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.shortcuts import render

WINDOW_SECONDS = 15 * 60
PER_ACCOUNT = 5  # failures per account and address within the window
PER_ADDRESS = 20  # failures per address, whatever the accounts


def _hash(*parts: str) -> str:
    return hashlib.sha256(":".join((settings.SECRET_KEY, *parts)).encode()).hexdigest()[:32]


def _keys(request, username: str) -> tuple[str, str]:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    return f"login:acct:{_hash(username.lower(), address)}", f"login:addr:{_hash(address)}"


def is_locked(request, username: str) -> bool:
    account, address = _keys(request, username)
    return cache.get(account, 0) >= PER_ACCOUNT or cache.get(address, 0) >= PER_ADDRESS


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs):
    for key in _keys(request, str(credentials.get("username", ""))):
        cache.add(key, 0, timeout=WINDOW_SECONDS)
        cache.incr(key)


@receiver(user_logged_in)
def clear_failures(sender, request, user, **kwargs):
    cache.delete(_keys(request, user.get_username())[0])


def throttled_admin_login(request, extra_context=None):
    """The admin's login view, refusing a locked account or address before checking anything."""
    if request.method == "POST" and is_locked(request, request.POST.get("username", "")):
        response = render(request, "too_many_requests.html", {"minutes": WINDOW_SECONDS // 60}, status=429)
        response["Retry-After"] = str(WINDOW_SECONDS)
        return response
    from staff.sso_views import sso_login_context

    return admin.site.login(request, {**sso_login_context(), **(extra_context or {})})
