"""Verified stretches of the audit chain, so a verification reads only what changed since the last.

consent.audit_chain.verify walks every record in Python: 18 minutes for 2.7 million records on a
loaded 2-core machine, hours at ten times that, every day. Between two verifications almost nothing
changes: records are appended, an erasure blanks a few. So the chain is cut into stretches of
AUDIT_STRETCH_IDS ids; when a stretch verifies clean, PostgreSQL's sha256 of its rows as stored
(every column, in id order) is kept with its first link and last hash, signed with the chain key
(AuditStretchSeal). The next verification asks PostgreSQL for every stretch's digest and walks only
the stretches whose digest, count or first link differ from a correctly signed seal: new records,
erasures, edits made behind the application's back. An edit changes the digest and nobody without
the key can sign another; deleting seals only makes the next walk whole. PostgreSQL only: SQLite
installs are small and are walked whole.
"""

from __future__ import annotations

import hmac

from django.db import connection, transaction
from django.db.models import Max, Min

from consent.audit_chain import GENESIS, Verification, _mac, canonical, checkpoint_at, walk
from consent.models import AuditStretchSeal, ConsentChange

# Ids per stretch: what an erasure or a new day's records cost to walk again. Fixed: the seals name
# their stretch by number, and a seal signed for another size never matches.
AUDIT_STRETCH_IDS = 5000
# Stretches per digest query (one query, one snapshot, 500,000 ids).
STRETCHES_PER_QUERY = 100

_DIGESTS = (
    "SELECT c.id / %(size)s, count(*), "
    "encode(sha256(convert_to(string_agg(c::text, E'\\n' ORDER BY c.id), 'UTF8')), 'hex') "
    "FROM consent_consentchange c WHERE c.id >= %(low)s AND c.id < %(high)s GROUP BY 1 ORDER BY 1"
)


def walk_changed_stretches(result: Verification, at_length: dict) -> str:
    """verify()'s walk, stretch by stretch, skipping the stretches a valid seal vouches for; the
    chain hash after the last record."""
    seals = {seal.stretch: seal for seal in AuditStretchSeal.objects.all()}
    prev = GENESIS
    for stretch, records, digest in stretch_digests():
        seal = seals.get(stretch)
        if (
            seal is not None
            and (seal.records, seal.digest, seal.first_prev) == (records, digest, prev)
            and hmac.compare_digest(seal.signature, seal_signature(seal))
        ):
            _checkpoints_inside(stretch, records, result, at_length)
            prev = seal.last_hash
        else:
            prev = _walk_and_seal(stretch, result, prev, at_length)
    return prev


def stretch_digests():
    """(stretch, records, digest) of every stretch that holds records, in order."""
    bounds = ConsentChange.objects.aggregate(lowest=Min("id"), highest=Max("id"))
    lowest, highest = bounds["lowest"], bounds["highest"]
    if lowest is None:
        return
    with connection.cursor() as cursor:
        span = AUDIT_STRETCH_IDS * STRETCHES_PER_QUERY
        low = lowest - lowest % AUDIT_STRETCH_IDS
        while low <= highest:
            cursor.execute(_DIGESTS, {"size": AUDIT_STRETCH_IDS, "low": low, "high": low + span})
            yield from cursor.fetchall()
            low += span


def _walk_and_seal(stretch: int, result: Verification, prev: str, at_length: dict) -> str:
    """Walk one stretch; seal it if it held no problem. Digest and rows come from one snapshot
    (REPEATABLE READ when this is its own transaction), so the seal names exactly what was read."""
    low = stretch * AUDIT_STRETCH_IDS
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if own_transaction:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute(_DIGESTS, {"size": AUDIT_STRETCH_IDS, "low": low, "high": low + AUDIT_STRETCH_IDS})
            found = cursor.fetchone()
        records = list(
            ConsentChange.objects.filter(id__gte=low, id__lt=low + AUDIT_STRETCH_IDS).order_by("id")
        )
        problems_before = result.bad_count
        after = walk(records, result, prev, at_length)
        if records and found and result.bad_count == problems_before:
            seal = AuditStretchSeal(
                stretch=stretch,
                records=found[1],
                digest=found[2],
                first_prev=records[0].prev_hash,
                last_hash=records[-1].chain_hash,
            )
            seal.signature = seal_signature(seal)
            AuditStretchSeal.objects.bulk_create(
                [seal],
                update_conflicts=True,
                unique_fields=["stretch"],
                update_fields=["records", "digest", "first_prev", "last_hash", "verified_at", "signature"],
            )
    return after


def _checkpoints_inside(stretch: int, records: int, result: Verification, at_length: dict) -> None:
    """Count a sealed stretch as checked, reading only the records that signed checkpoints end at."""
    start = result.checked
    low = stretch * AUDIT_STRETCH_IDS
    for length in sorted(length for length in at_length if start < length <= start + records):
        record_id, chain_hash = (
            ConsentChange.objects.filter(id__gte=low, id__lt=low + AUDIT_STRETCH_IDS)
            .order_by("id")
            .values_list("id", "chain_hash")[length - start - 1]
        )
        result.checked = length
        checkpoint_at(result, at_length, record_id, chain_hash)
    result.checked = start + records


def seal_signature(seal: AuditStretchSeal) -> str:
    return _mac(
        "stretch:"
        + canonical(
            [AUDIT_STRETCH_IDS, seal.stretch, seal.records, seal.digest, seal.first_prev, seal.last_hash]
        )
    )
