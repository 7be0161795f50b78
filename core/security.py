"""Response headers and rate limits that every page gets."""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

# No inline script anywhere: the public pages need none and the admin ships its scripts as files.
# Inline styles stay allowed for the admin's widgets (a style cannot run code).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


class RefuseNulMiddleware:
    """A NUL character (%00) in the URL's path or query, or in the User-Agent (kept as evidence of
    a consent), gets a 400 with a message.

    No page or filter has a use for it and no database column stores it: PostgreSQL refused it
    with a DataError, a 500 (an API detail URL, an admin list filter, a sign-up). Forms refuse it in
    their own fields (Django's CharField); lone surrogates cannot arrive this way (a URL's invalid
    UTF-8 is decoded as U+FFFD).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        texts = [request.path_info, request.META.get("HTTP_USER_AGENT", "")]
        texts += [text for key, values in request.GET.lists() for text in (key, *values)]
        if any("\x00" in text for text in texts):
            message = _("The request holds a NUL character (%00), which no page accepts.")
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def rate_limited(name: str, *, per_minute: int, methods=("POST",)):
    """Allow `per_minute` requests per client address in any minute to a view, then answer 429.

    The counter key holds a hash of the address, not the address: nothing personal in the cache.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method in methods and settings.RATE_LIMITS_ENABLED:
                now = time.time()
                window = int(now // 60)
                client = hashlib.sha256(
                    f"{settings.SECRET_KEY}:{request.META.get('REMOTE_ADDR', '')}".encode()
                ).hexdigest()[:32]
                key = f"rl:{name}:{client}"
                cache.add(f"{key}:{window}", 0, timeout=120)
                current = cache.incr(f"{key}:{window}")
                # A sliding minute: the previous minute's count weighs as much of it as still lies
                # within the last 60 s, so a burst across the turn of a minute is not let through twice.
                previous = cache.get(f"{key}:{window - 1}", 0) * (1 - (now % 60) / 60)
                if current + previous > per_minute:
                    response = render(request, "too_many_requests.html", status=429)
                    response["Retry-After"] = "60"
                    return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def recipient_limit_reached(name: str, address: str) -> bool:
    """Count one more confirmation email to `address`; True once this hour's allowance
    (CONFIRMATION_EMAILS_PER_ADDRESS_PER_HOUR) is used up.

    rate_limited counts per client, so a bot spread over many client addresses could still fill
    one person's inbox; this counts per recipient. The caller then sends nothing and answers as
    usual (a different page would tell whether the address is known). The key holds a keyed hash
    of the address, never the address.
    """
    if not settings.RATE_LIMITS_ENABLED:
        return False
    window = int(time.time() // 3600)
    recipient = hmac.new(
        settings.SECRET_KEY.encode(), f"recipient:{address}".encode(), hashlib.sha256
    ).hexdigest()[:32]
    key = f"rl:{name}:to:{recipient}:{window}"
    cache.add(key, 0, timeout=2 * 3600)
    return cache.incr(key) > settings.CONFIRMATION_EMAILS_PER_ADDRESS_PER_HOUR
