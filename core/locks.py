"""A lock on a name (an address, an address and a request type) for the rest of a transaction.

For races over rows that do not exist yet, where select_for_update has nothing to lock: two
sign-ups of one new address, two requests of one type for one address. Several contacts may
share an address on purpose (families, shared inboxes), so a unique constraint on the address
is not available; the lock serialises the check-then-create instead.

PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback (safe behind a
transaction pooler). Its key is a keyed hash, so pg_locks shows no address. SQLite: nothing to
do, the project runs SQLite transactions IMMEDIATE (config/settings.py), so writers already take
turns for the whole transaction.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import connection

from core.bulk import dialect


def lock_key(*parts: str) -> int:
    digest = hmac.new(settings.SECRET_KEY.encode(), "\x1f".join(parts).encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big", signed=True)  # PostgreSQL's bigint


def lock_name(*parts: str) -> None:
    """Hold a lock on `parts` until the current transaction ends; wait while another holds it."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_name needs a transaction: the lock ends with it")
    dialect(connection).lock(lock_key(*parts))
