"""The erasure suppression list: keyed hashes of erased identities, consulted before a contact
is created from an import or a sign-up (DESIGN.md rule 3: erasure leaves a hash, not the address)."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ValidationError

from contacts.models import SuppressedIdentity
from core.bulk import history_insert, tracked_values
from core.history import family_audited
from core.normalize import normalize_email, normalize_phone


def _digest(kind: str, value: str) -> str:
    # Keyed with AUDIT_CHAIN_KEY, which must never change (unlike SECRET_KEY, which may be
    # rotated): a plain hash of an address could be reversed by hashing a list of addresses.
    key = settings.AUDIT_CHAIN_KEY.encode()
    return hmac.new(key, f"suppression:{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def suppression_pairs(*, email: str = "", phone: str = "") -> list[tuple[str, str]]:
    """Normalised (kind, digest) pairs; a value that does not normalise is not an identity."""
    found = []
    for kind, value, normalise in (("email", email, normalize_email), ("phone", phone, normalize_phone)):
        try:
            value = normalise(value or "")
        except ValidationError:
            continue
        if value:
            found.append((kind, _digest(kind, value)))
    return found


def suppression_add(*, email: str = "", phone: str = "", reason: str, actor=None) -> int:
    """Add the identities to the list (idempotent). Returns how many were new."""
    return suppression_add_digests(
        digests=suppression_pairs(email=email, phone=phone), reason=reason, actor=actor
    )


def suppression_add_digests(*, digests: list[tuple[str, str]], reason: str, actor=None) -> int:
    """Add (kind, digest) pairs as they are (re-applying erasures from the ledger, which holds
    no address to hash). Returns how many were new; their history says who added them and why
    (without the hash: core.history)."""
    wanted = {digest: kind for kind, digest in digests}
    known = set(SuppressedIdentity.objects.filter(digest__in=wanted).values_list("digest", flat=True))
    new = [
        SuppressedIdentity(digest=d, kind=k, reason=reason[:200]) for d, k in wanted.items() if d not in known
    ]
    SuppressedIdentity.objects.bulk_create(new, ignore_conflicts=True)  # a concurrent add is harmless
    if new and family_audited("suppression"):
        # bulk_create writes no history (and, ignoring conflicts, reads no ids back).
        added = SuppressedIdentity.objects.filter(digest__in=[entry.digest for entry in new])
        history_insert(SuppressedIdentity, [(tracked_values(e), "+", "") for e in added], user=actor)
    return len(new)


def suppression_digests(*, email: str = "", phone: str = "") -> list[str]:
    """The digests the list would hold for these identities (for lookups)."""
    return [d for _, d in suppression_pairs(email=email, phone=phone)]


def is_suppressed(*, email: str = "", phone: str = "") -> bool:
    """True when the email address or the phone number belongs to an erased person."""
    digests = suppression_digests(email=email, phone=phone)
    return bool(digests) and SuppressedIdentity.objects.filter(digest__in=digests).exists()


def suppressed_values(values: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """For bulk paths (imports): which of these (kind, normalised value) pairs are suppressed,
    in one query per 1,000 values."""
    by_digest = {_digest(kind, value): (kind, value) for kind, value in values if value}
    keys = list(by_digest)
    hits: set[tuple[str, str]] = set()
    for start in range(0, len(keys), 1000):
        chunk = SuppressedIdentity.objects.filter(digest__in=keys[start : start + 1000])
        hits.update(by_digest[d] for d in chunk.values_list("digest", flat=True))
    return hits
