"""The residue scan after an erasure, in a worker and in batches.

At ten million contacts one scan of every table takes minutes (559 s measured), too long for the
officer's request and for one scan per erasure. The erasure commits, its record says the scan is
pending, and the identities to look for wait in PendingResidueScan, encrypted (Fernet, a key
derived from SECRET_KEY): the broker carries no personal data, only a nudge, and the database,
its dumps and the other scans see ciphertext. A worker claims waiting erasures up to
RESIDUE_SCAN_PEOPLE people in all, scans for all of them in one pass (dsr.residue.residue_scans), writes each verdict and
deletes the identities in one transaction per erasure. A worker that dies leaves its claim, which
is taken over after RESIDUE_SCAN_CLAIM_SECONDS; beat drains the queue every few minutes in case a
nudge was lost.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import asdict
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dsr.models import ErasureRecord, PendingResidueScan
from dsr.residue import Identity, residue_scans

log = logging.getLogger(__name__)


def _cipher() -> MultiFernet:
    """Encrypts with SECRET_KEY, decrypts with it or a fallback (a key rotated meanwhile)."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(hmac.new(s.encode(), b"residue-scan-queue", hashlib.sha256).digest())
            )
            for s in secrets
        ]
    )


def residue_scan_queue(record: ErasureRecord, identities: list[Identity], failed: list[str]) -> None:
    """After the erasure committed: keep what the scan looks for, sealed, and nudge a worker.
    failed: the kinds of file that could not be erased (they make the verdict "data left")."""
    payload = json.dumps({"identities": [asdict(i) for i in identities], "failed": failed})
    PendingResidueScan.objects.create(
        record=record, sealed=_cipher().encrypt(payload.encode()), people=len(identities)
    )
    transaction.on_commit(_nudge)


def _nudge() -> None:
    from dsr.tasks import run_residue_scans

    try:
        run_residue_scans.delay()
    except Exception:  # the broker is down: beat's drain finds the scan later
        log.warning("residue scan queued; the worker could not be told, beat will start it")


def residue_scans_run(*, limit: int | None = None) -> int:
    """Scan for the erasures waiting, a batch at a time, until none is left unclaimed (or `limit`
    erasures were scanned). Returns how many verdicts were written."""
    done = 0
    while limit is None or done < limit:
        batch = _claim(limit - done if limit else None)
        if not batch:
            return done
        done += _scan_batch(batch)
    return done


def _claim(most: int | None) -> list[PendingResidueScan]:
    """Take waiting scans, oldest first, up to RESIDUE_SCAN_PEOPLE people (at least one scan) and
    `most` scans: one conditional UPDATE each, so two workers never take the same one (PostgreSQL
    and SQLite alike). A claim older than RESIDUE_SCAN_CLAIM_SECONDS is stale and taken over."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.RESIDUE_SCAN_CLAIM_SECONDS)
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale)
    taken, people = [], 0
    waiting = PendingResidueScan.objects.filter(free).order_by("pk").values_list("pk", "people")
    for pk, count in waiting[: settings.RESIDUE_SCAN_PEOPLE]:
        if taken and people + count > settings.RESIDUE_SCAN_PEOPLE:
            break
        if PendingResidueScan.objects.filter(free, pk=pk).update(claimed_at=now):
            taken.append(pk)
            people += count
            if most is not None and len(taken) == most:
                break
    return list(PendingResidueScan.objects.filter(pk__in=taken).order_by("pk"))


def _scan_batch(batch: list[PendingResidueScan]) -> int:
    cipher, groups, failures, unreadable, written = _cipher(), [], [], [], 0
    for pending in batch:
        try:
            payload = json.loads(cipher.decrypt(bytes(pending.sealed)))
        except InvalidToken:  # SECRET_KEY changed without a fallback: nothing to look for
            payload = None
        unreadable.append(payload is None)
        groups.append([Identity(**i) for i in payload["identities"]] if payload else [])
        failures.append(payload["failed"] if payload else [])
    reports = residue_scans(groups)
    for pending, report, failed, lost in zip(batch, reports, failures, unreadable, strict=True):
        residue = report.as_json()
        residue["errors"] += [f"{name}: could not be erased" for name in failed]
        if lost:
            residue["errors"].append("the identities to look for could not be decrypted (SECRET_KEY changed)")
        with transaction.atomic():
            # The claim must still be ours: a worker that outlived its claim does not write twice.
            ours = PendingResidueScan.objects.filter(pk=pending.pk, claimed_at=pending.claimed_at)
            if not ours.delete()[0]:
                continue
            updated = ErasureRecord.objects.filter(pk=pending.record_id, residue_clean__isnull=True).update(
                residue=residue, residue_clean=not residue["hits"] and not residue["errors"]
            )
        if not updated:  # only a write behind the application's back decides a queued verdict
            log.error(
                "erasure record %s already had a residue verdict this scan did not write", pending.record_id
            )
        written += updated
    return written
