"""The nightly retention job (GDPR Art. 5(1)(e)): withdraw consent that has lapsed, then erase the
contacts left with nothing, as consent.retention computes them and its preview shows them.

Consent of purposes is withdrawn through the one write path (consent.services, source
"retention", the rule and its dates as the record's evidence); lists register how theirs is
withdrawn (subscriptions/retention_rules.py) and the erasure registers itself too
(dsr/retention_rules.py): consent imports neither. Work goes in batches of RETENTION_BATCH_SIZE
contacts, each its own short transaction that also adds its counts to the run's row: a run that
dies keeps what it committed, and the next run finds only what is still due, so nothing is done
twice. Contacts are always chosen through consent.retention (the eligibility selector: restricted
contacts are never touched) and never while a legal hold lasts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from consent.models import ProcessingRecord, RetentionClock, RetentionRun, Source
from consent.retention import (
    RuleKind,
    add_months,
    all_rules,
    erasable_contacts,
    lapsing_contacts,
    validity_clocks,
)
from consent.services import ConsentWish, consent_changes_apply
from contacts.models import Contact
from core.bulk import dialect
from core.locks import lock_name

# A run whose heartbeat is older than this lost its worker: the next run marks it interrupted.
STALE_AFTER = timedelta(minutes=10)

# kind key -> withdraw(record=, evidence={contact id: evidence}, reasons={contact id: text}) -> count
_WITHDRAWALS: dict[str, Callable[..., int]] = {}
# erase(contacts=, reference=, rule=): the erasure of a request, with the rule for its record.
_ERASERS: list[Callable[..., object]] = []


def register_withdrawal(kind_key: str, withdraw: Callable[..., int]) -> None:
    _WITHDRAWALS[kind_key] = withdraw


def register_eraser(erase: Callable[..., object]) -> None:
    _ERASERS[:] = [erase]


def rule_key(kind: RuleKind, record: ProcessingRecord) -> str:
    """How a run's counts, a lapse's evidence and an erasure record name a rule."""
    return f"{kind.key}:{record.pk}"


def rule_note(kind: RuleKind, record: ProcessingRecord, run: RetentionRun) -> dict:
    return {"key": rule_key(kind, record), "kind": kind.key, "rule": str(record), "run": run.pk}


def _purposes_withdraw(*, record, evidence: dict[int, dict], reasons: dict[int, str]) -> int:
    groups = [
        [
            ConsentWish(
                contact_id=pk, purposes={record: False}, evidence=evidence[pk], justification=reasons[pk]
            )
        ]
        for pk in sorted(evidence)
    ]
    applied = consent_changes_apply(groups=groups, source=Source.RETENTION)
    return sum(1 for outcome in applied.outcomes if isinstance(outcome, list) and outcome)


register_withdrawal("purpose", _purposes_withdraw)


class RunInProgress(Exception):
    """Another run is alive (fresh heartbeat): two beats sent the task twice."""


def retention_run(*, now: datetime | None = None, batch_size: int | None = None) -> RetentionRun:
    """Lapse every due consent, then erase every contact with nothing left, and record the run.

    GDPR Art. 5(1)(e) and 17(1)(a)-(b). Raises RunInProgress while another run's heartbeat is
    fresh; an earlier run that died is marked interrupted and this one does what it left.
    """
    now = now or timezone.now()
    size = batch_size or settings.RETENTION_BATCH_SIZE
    run = _run_start(now)
    try:
        rules = all_rules()
        for kind, record in rules:
            withdraw = _WITHDRAWALS.get(kind.key)
            if withdraw is not None and record.consent_validity_months is not None:
                _lapse_rule(run, kind, record, withdraw, size)
        if _ERASERS:
            for kind, record in rules:
                if record.keep_months() is not None:
                    _erase_rule(run, kind, record, rules, _ERASERS[0], size)
    except BaseException as problem:
        # The kind of error only: a database error's text can quote a person's data.
        RetentionRun.objects.filter(pk=run.pk).update(
            state=RetentionRun.State.FAILED, finished_at=timezone.now(), error=type(problem).__name__
        )
        raise
    RetentionRun.objects.filter(pk=run.pk).update(state=RetentionRun.State.DONE, finished_at=timezone.now())
    run.refresh_from_db()
    return run


def _run_start(now: datetime) -> RetentionRun:
    with transaction.atomic():
        # Two runs started at once (two beats) take turns here: the second sees the first's row.
        lock_name("retention run")
        running = RetentionRun.objects.filter(state=RetentionRun.State.RUNNING)
        alive = [r for r in running if r.heartbeat_at and r.heartbeat_at > timezone.now() - STALE_AFTER]
        if alive:
            raise RunInProgress(f"retention run {alive[0].pk} is still running")
        running.update(state=RetentionRun.State.INTERRUPTED, finished_at=timezone.now())
        return RetentionRun.objects.create(as_of=now, heartbeat_at=timezone.now())


def _batches(due: QuerySet[Contact], size: int):
    """Ids of `due` in pk order, `size` at a time, re-read after each batch (what a batch did
    leaves the set); the keyset also moves past any contact a batch could not change."""
    last = 0
    while ids := list(due.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size]):
        last = ids[-1]
        yield ids


def _locked_again(due: QuerySet[Contact], ids: list[int]) -> list[int]:
    """Lock the batch's contacts, then choose them again: a renewal, a hold or a request committed
    since the batch was read keeps that contact out (the lock keeps the next one from slipping in)."""
    list(dialect(connection).rows_locked(Contact, ids))
    return sorted(due.filter(pk__in=ids).values_list("pk", flat=True))


def _lapse_rule(run: RetentionRun, kind: RuleKind, record: ProcessingRecord, withdraw, size: int) -> None:
    due = lapsing_contacts(kind, record, by=run.as_of)  # never a contact on a legal hold lasting today
    for ids in _batches(due, size):
        with transaction.atomic():
            ids = _locked_again(due, ids)
            clocks = validity_clocks(kind, record, ids)
            evidence = {pk: _evidence(run, kind, record, clocks[pk]) for pk in ids}
            reasons = {pk: _reason(kind, record, clocks[pk]) for pk in ids}
            done = withdraw(record=record, evidence=evidence, reasons=reasons) if ids else 0
            _count(run, kind, record, "lapsed", done)


def _evidence(run: RetentionRun, kind: RuleKind, record: ProcessingRecord, clock: datetime) -> dict:
    return {
        **rule_note(kind, record, run),
        "valid_months": record.consent_validity_months,
        "counted_from": record.validity_clock,
        "clock_date": clock.isoformat(),
        "lapsed_on": add_months(clock, record.consent_validity_months).isoformat(),
    }


def _reason(kind: RuleKind, record: ProcessingRecord, clock: datetime) -> str:
    since = {RetentionClock.ANSWER: "the answer", RetentionClock.LAST_ACTION: "the person's last action"}
    lapsed = add_months(clock, record.consent_validity_months)
    return (
        f"Retention: consent for {kind.key} “{record}” lapsed on {timezone.localtime(lapsed):%Y-%m-%d},"
        f" {record.consent_validity_months} months after {since[record.validity_clock]}"
        f" ({timezone.localtime(clock):%Y-%m-%d})."
    )


def _erase_rule(run: RetentionRun, kind: RuleKind, record: ProcessingRecord, rules, erase, size: int) -> None:
    """Erase the contacts of this rule with nothing left. A contact of several rules is erased
    under the first (purposes by name, then lists), and its erasure record names that one."""
    member = Exists(kind.rows([record.pk]).filter(contact=OuterRef("pk")))
    # erasable_contacts already leaves out holds lasting to the run's day, open requests and restriction.
    due = erasable_contacts(by=run.as_of, rules=rules).filter(member)
    note = rule_note(kind, record, run)
    for ids in _batches(due, size):
        with transaction.atomic():
            ids = _locked_again(due, ids)
            if ids:
                erase(
                    contacts=list(Contact.objects.filter(pk__in=ids)),
                    reference=f"retention: {kind.key} “{record}”",
                    rule=note,
                )
            _count(run, kind, record, "erased", len(ids))


def _count(run: RetentionRun, kind: RuleKind, record: ProcessingRecord, what: str, n: int) -> None:
    """Add a batch's figure to the run, in the batch's transaction (exact after a crash)."""
    locked = RetentionRun.objects.select_for_update().get(pk=run.pk)
    entry = locked.counts.setdefault(
        rule_key(kind, record), {"kind": kind.key, "rule": str(record), "lapsed": 0, "erased": 0}
    )
    entry[what] += n
    locked.heartbeat_at = timezone.now()
    locked.save(update_fields=["counts", "heartbeat_at"])
    run.counts = locked.counts
