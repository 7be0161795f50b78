"""API keys: one per API client, hashed at rest, sent as `Authorization: Token <key>`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from staff.models import ApiKey
from staff.permission_load import roles_and_permissions_load

KEYWORDS = (b"token", b"bearer")


def _hash(secret: str) -> str:
    # The secret is 256 random bits: a plain SHA-256 cannot be reversed by guessing.
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, user, name: str) -> tuple[ApiKey, str]:
    """Create a key for `user`; returns it and the full key text, which is not stored anywhere."""
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(user=user, name=name.strip()[:100], prefix=prefix, key_hash=_hash(secret))
    key.full_clean()
    key.save()
    return key, f"{prefix}.{secret}"


def api_key_revoke(*, prefix: str, actor=None) -> int:
    """Revoke the active key with this prefix; returns how many were revoked (0 or 1). Saved row
    by row, not with update(): the revocation belongs in the key's history."""
    revoked = 0
    with transaction.atomic():
        for key in ApiKey.objects.select_for_update().filter(prefix=prefix, revoked_at__isnull=True):
            key.revoked_at = timezone.now()
            if actor is not None:
                key._history_user = actor
            key.save(update_fields=["revoked_at"])
            revoked += 1
    return revoked


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        found = self.key_check(request)
        if found is not None:
            # Every API view asks for the role and permissions: read them all at once, now.
            roles_and_permissions_load(found[0])
        return found

    def key_check(self, request):
        """(user, key) for a valid key, None without one; AuthenticationFailed for a bad one."""
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the key as: Authorization: Token <key>.")
        prefix, _dot, secret = parts[1].decode("latin-1").partition(".")
        key = ApiKey.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True).first()
        # Compare even without a key, so a wrong prefix and a wrong secret take the same time.
        expected = key.key_hash if key else "0" * 64
        if not hmac.compare_digest(expected, _hash(secret)) or key is None or not key.user.is_active:
            raise AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key.user, key

    def authenticate_header(self, request):
        return "Token"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "staff.api_auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; create a key with `manage.py api_key create --user <name> --name <client>`.",
        }
