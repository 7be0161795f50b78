"""How a former member of staff appears in logs and exports once their account is deleted."""

import hashlib
import hmac

from django.conf import settings


def staff_pseudonym(user) -> str:
    """The same pseudonym for one account wherever it appears; not reversible without the key."""
    mac = hmac.new(settings.AUDIT_CHAIN_KEY.encode(), f"staff:{user.pk}".encode(), hashlib.sha256)
    return f"former-staff-{mac.hexdigest()[:10]}"
