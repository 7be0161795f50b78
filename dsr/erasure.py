"""Erasure of one person's data everywhere (GDPR Art. 17), walking the personal-data registry.

One transaction: every registered row is deleted, anonymised or kept under its legal hold; the
simple-history copies of it are purged; admin log entries naming the person are scrubbed; the
person's requests are pseudonymised; a keyed hash of their email and phone joins the suppression
list; and an ErasureRecord without personal data says what was done. Files registered as holding
the person (registry.register_files) are found and their download links revoked in that
transaction, and deleted or rewritten only once it commits: a rollback leaves them in place. A
residue scan of every table and every file then checks the result in a worker (dsr.residue_queue),
and the receipt goes to the requester.
"""

from __future__ import annotations

import logging
from collections import Counter

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection, models, router, transaction
from django.db.models import Q
from django.db.models.deletion import Collector
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact, LegalHold
from contacts.services import contact_update
from contacts.suppression import suppression_add_digests, suppression_pairs
from core import registry
from core.bulk import dialect
from core.normalize import normalize_email, normalize_phone
from core.registry import Erasure
from dsr.ledger import ledger_append, ledger_gap
from dsr.models import DataSubjectRequest, ErasureRecord, RequestSubmission
from dsr.residue import Identity
from dsr.residue_queue import residue_scan_queue
from staff.admin_tools import searches_forget
from webhooks.models import EventType
from webhooks.outbox import News, events_publish, subject_of

log = logging.getLogger(__name__)


def contacts_erase(
    *,
    contacts,
    actor,
    request: DataSubjectRequest | None = None,
    scan: bool = True,
    ledger_entry: str | None = None,
    reference: str | None = None,
    retention: dict | None = None,
    reason: str = "",
    suppress: bool = True,
) -> ErasureRecord:
    """Erase these contacts and everything registered about them; return the erasure record.

    scan=False skips the residue scan (it reads every table; the benchmark times it apart).
    ledger_entry: re-applying that line of the erasure ledger after a restore (no new line).
    reference: what the ledger and suppression list name when there is no request; retention:
    the retention rule that erased them (consent.lapse), kept in the receipt.
    reason: why, without a request (e.g. a purge rule); kept in the receipt and the ledger.
    suppress=False: the address may come back (a purge the person never asked for, such as an
    unconfirmed sign-up: the address may not even be theirs); nothing joins the suppression list
    and the ledger line names no identity, so a restore does not suppress it either.
    A contact on a legal hold is refused (GDPR Art. 17(3)(e)), except when re-applying."""
    ids = sorted({c.pk for c in contacts})
    if not ids:
        raise ValidationError(_("There is no contact to erase: link the request to its contacts first."))
    reference = request.reference if request else (reference or reason or "erasure without a request")
    with transaction.atomic():
        if ledger_entry is None:  # after a restore the erasure already happened: a hold cannot undo it
            _refuse_held(ids)
        identities, receipt, files = _erase_rows_and_count(ids, actor=actor, reference=reference)
        if retention:
            receipt["retention"] = retention
        if reason:
            receipt["reason"] = reason
        _tell_downstream(ids, identities)
        _forget_traces(ids, identities)
        digests = []
        if suppress:
            digests = [p for i in identities for p in suppression_pairs(email=i.email, phone=i.phone)]
            suppression_add_digests(digests=digests, reason=reference, actor=actor)
        _revoke_files(files, identities)
        # Written before the commit, outside the database: a backup restored later forgets again.
        ledger_entry = ledger_entry or ledger_append(reference=reference, contact_ids=ids, digests=digests)
        record = ErasureRecord.objects.create(
            request=request,
            performed_by=actor,
            contacts_erased=len(ids),
            receipt=receipt,
            ledger_entry=ledger_entry,
        )
        # Only once every row is committed: a failure anywhere before (here or in a caller's
        # transaction) rolls the rows back and must find the files still there. When this block
        # is the outermost transaction, Django runs the callback as it leaves it.
        transaction.on_commit(lambda: _after_commit(record, files, identities, scan=scan))
    return record


def _refuse_held(ids: list[int]) -> None:
    """Refuse, before anything changes, to erase a contact on a legal hold that lasts today. The
    contacts are locked first: a hold placed meanwhile waits for this erasure's end (its foreign
    key locks the contact's row)."""
    list(dialect(connection).rows_locked(Contact, ids))
    hold = (
        LegalHold.objects.filter(contact_id__in=ids, until__gte=timezone.localdate())
        .order_by("contact_id", "-until")
        .first()
    )
    if hold is not None:
        raise ValidationError(
            _(
                "Contact #%(id)d is on legal hold until %(until)s (%(reason)s): nothing was erased. "
                "Lift the hold or wait until it ends."
            )
            % {"id": hold.contact_id, "until": hold.until.isoformat(), "reason": hold.reason},
            code="legal_hold",
        )


def _erase_rows_and_count(ids: list[int], *, actor, reference: str):
    """The part of the erasure the officer previews: lock the people, find their files, erase
    every registered row and its history, and count what was done into the receipt. Returns
    (identities, receipt, files); files are found, not touched."""
    identities = _people_locked(ids)
    receipt = {"deleted": Counter(), "anonymised": {}, "kept": {}, "files": {}, "follow_ups": []}
    # How the downstream systems' acknowledgements of this erasure are found afterwards.
    receipt["downstream_subjects"] = [subject_of(pk) for pk in ids]
    # Files are found before any row changes: the rows that lead to them (a request's
    # contacts, its address) are about to be cut.
    files = [(entry, entry.find(ids, identities)) for entry in registry.file_entries()]
    _erase_rows(ids, identities, actor=actor, reference=reference, receipt=receipt)
    for entry, handles in files:
        if handles:
            receipt["files"][entry.name] = {"files": len(handles), "how": entry.how}
    receipt["deleted"] = dict(receipt["deleted"])
    return identities, receipt, files


class _Preview(Exception):
    def __init__(self, receipt: dict):
        self.receipt = receipt


def erasure_preview(*, contacts, actor, request: DataSubjectRequest | None = None) -> dict:
    """What erasing these contacts would delete, anonymise and keep, as the receipt would say it.

    Computed by the erasure's own code (the rows are really erased and counted, then the
    transaction is rolled back), so the preview cannot drift from the receipt: no second set of
    counting rules. Nothing outside the database is touched: files are only found, the ledger,
    the downstream events and the receipt mail belong to the parts of the erasure that do not run.
    """
    ids = sorted({c.pk for c in contacts})
    if not ids:
        return {"deleted": {}, "anonymised": {}, "kept": {}, "files": {}, "follow_ups": []}
    reference = request.reference if request else "erasure without a request"
    try:
        with transaction.atomic():
            _identities, receipt, _files = _erase_rows_and_count(ids, actor=actor, reference=reference)
            raise _Preview(receipt)  # leaving the block by an exception rolls every row back
    except _Preview as preview:
        return preview.receipt


def _tell_downstream(ids: list[int], identities: list[Identity]) -> None:
    """GDPR Art. 17(2), 19: every downstream system learns to delete its copy. The event names the
    person by the id it knew and by identifiers hashed under each receiver's own key; the person's
    earlier events went with the rows above."""
    events_publish(
        [
            News(
                EventType.ERASED,
                None,
                {"contact": {"id": pk}},
                subject=subject_of(pk),
                keyed={
                    "email": _normal(normalize_email, who.email),
                    "phone": _normal(normalize_phone, who.phone),
                },
            )
            for pk, who in zip(ids, identities, strict=True)
        ]
    )


def _normal(normalise, value: str) -> str:
    try:
        return normalise(value or "")
    except ValidationError:
        return ""


def _people_locked(ids: list[int]) -> list[Identity]:
    """Lock the people first: a consent change or an import racing the erasure would otherwise
    write a record for a contact that is about to vanish. Returns who they are, read before."""
    people = list(Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if len(people) != len(ids):
        raise ValidationError(_("A contact was erased or merged meanwhile. Reload and try again."))
    return [Identity(p.email, p.phone, p.first_name, p.last_name) for p in people]


def _erase_rows(ids: list[int], identities: list[Identity], *, actor, reference: str, receipt: dict) -> None:
    """Delete or anonymise every registered row of the people, then the people and their history."""
    _unlink_wards(ids, actor=actor, reference=reference, receipt=receipt)
    requests = _requests_about(ids, identities)
    # One collector for every deletion, so Django orders them by their foreign keys
    # (a registry order would trip over RESTRICT/PROTECT between registered models).
    collector = Collector(using=router.db_for_write(Contact))
    # Rows to delete are found first: anonymising may cut the path through which they reach
    # the contact (e.g. a row hanging off an enrolment whose contact link is blanked).
    ordered = sorted(registry.entries(), key=lambda e: e.erasure != Erasure.DELETE)
    for entry in ordered:
        if entry.model is not Contact:
            _apply(entry, ids, receipt, requests=requests, collector=collector)
    collector.collect(Contact.objects.filter(pk__in=ids))
    receipt["deleted"].update(_labelled(collector.delete()[1]))
    _purge_history(ids, receipt)


def _forget_traces(ids: list[int], identities: list[Identity]) -> None:
    """What names the people outside the registered rows: the admin log, staff searches, and
    submissions of the public request page."""
    _scrub_admin_log(ids, identities)
    # Staff often search for the person before erasing them: those terms live in sessions.
    searches_forget(
        [v for i in identities for v in (i.email, i.phone, f"{i.first_name} {i.last_name}".strip())]
    )
    # Submissions from the public request page name the address but no contact.
    emails = [i.email for i in identities if i.email]
    phones = [i.phone for i in identities if i.phone]
    RequestSubmission.objects.filter(Q(email__in=emails) | Q(phone__in=phones)).delete()


def _revoke_files(files: list, identities: list[Identity]) -> None:
    """Each kind of file revokes what it must now (download links, rows keyed by the address);
    the files themselves go after the commit."""
    for entry, handles in files:
        if entry.revoke is not None:  # also without files: e.g. report rows keyed by the address
            entry.revoke(handles, identities)


def _after_commit(record: ErasureRecord, files, identities, *, scan: bool) -> None:
    """Delete or rewrite the person's files, then queue the scan of every table and file for what
    is left (dsr.residue_queue: a worker writes the verdict into the record)."""
    failed = []
    for entry, handles in files:
        if not handles:
            continue
        try:
            entry.erase(handles, identities)
        except Exception:  # one broken folder must not keep the other files or the scan from running
            log.exception("erasure %s: files of %s not erased", record.pk, entry.name)
            failed.append(entry.name)
    if scan:
        residue_scan_queue(record, identities, failed)
    elif failed:
        errors = [f"{name}: could not be erased" for name in failed]
        ErasureRecord.objects.filter(pk=record.pk, residue_clean__isnull=True).update(
            residue={"hits": [], "errors": errors}, residue_clean=False
        )


def _labelled(by_model: dict[str, int]) -> dict[str, int]:
    named = {}
    for label, count in by_model.items():
        if count:
            model = _model(label)
            named[_human_name(model) if model else label] = count
    return named


def _human_name(model) -> str:
    """How the receipt names a kind of record. The link table Django makes for a many-to-many field
    is named for the person by what it links ("Data subject request: linked contacts"), never by
    its internal name ("Datasubjectrequest-contact relationship")."""
    meta = model._meta
    if meta.auto_created:
        owner = meta.auto_created
        field = next(
            (f for f in owner._meta.many_to_many if f.remote_field.through is model),
            None,
        )
        name = str(owner._meta.verbose_name)
        linked = str(field.related_model._meta.verbose_name_plural) if field else str(meta.verbose_name)
        return _("%(owner)s: linked %(linked)s") % {"owner": name[:1].upper() + name[1:], "linked": linked}
    name = str(meta.verbose_name)
    return name[:1].upper() + name[1:]


def _model(label: str):
    from django.apps import apps

    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _unlink_wards(ids, *, actor, reference, receipt) -> None:
    """A child whose guardian is erased keeps no guardian: held restricted until the officer sets
    a new one (GDPR Art. 8: nobody may consent for them meanwhile)."""
    for ward in Contact.objects.filter(guardian_id__in=ids).exclude(pk__in=ids):
        contact_update(
            contact=ward,
            actor=actor,
            reason=f"guardian erased ({reference})",
            guardian=None,
            processing_restricted=True,
        )
        receipt["follow_ups"].append(
            _(
                "Contact #%(id)d lost their guardian to this erasure: processing is restricted "
                "until a new guardian is set."
            )
            % {"id": ward.pk}
        )


def _requests_about(ids, identities) -> models.QuerySet:
    """The person's requests: linked to the contacts, or sent from their address."""
    emails = [i.email for i in identities if i.email]
    phones = [i.phone for i in identities if i.phone]
    return DataSubjectRequest.objects.filter(
        Q(contacts__in=ids) | Q(requester_email__in=emails) | Q(requester_phone__in=phones)
    ).distinct()


def _apply(entry: registry.PersonalData, ids, receipt, *, requests, collector: Collector) -> None:
    name = str(entry.model._meta.verbose_name).capitalize()
    if entry.model is DataSubjectRequest:
        rows = DataSubjectRequest.objects.filter(pk__in=list(requests.values_list("pk", flat=True)))
    else:
        rows = entry.rows_for_ids(ids)
    if entry.erasure == Erasure.DELETE:
        # By primary key: a DELETE over a join (many-to-many paths) is not portable.
        pks = list(rows.values_list("pk", flat=True))
        # RESTRICT is checked once, when the last collect (the contacts) has gathered everything.
        collector.collect(entry.model._default_manager.filter(pk__in=pks), fail_on_restricted=False)
        return
    count = rows.count()
    if not count:
        return
    if entry.anonymise is not None:
        entry.anonymise(rows)
    elif entry.erasure == Erasure.ANONYMISE:
        rows.update(**{f: _blank(entry.model, f) for f in entry.fields})
    bucket = "anonymised" if entry.erasure == Erasure.ANONYMISE or entry.anonymise else "kept"
    receipt[bucket][name] = {"rows": count, "legal_basis": entry.legal_hold, "kept_until": entry.kept_until}


def _blank(model, field_name: str):
    field = model._meta.get_field(field_name)
    if field.null:
        return None
    if isinstance(field, models.JSONField):
        return {}
    return ""


def _purge_history(ids, receipt) -> None:
    """simple-history keeps full snapshots, and deletion writes one more: remove them all."""
    for entry in registry.entries():
        history = getattr(entry.model, "history", None)
        if history is None:
            continue
        if not entry.contact_path:
            rows = history.filter(id__in=ids)
        else:
            try:
                history.model._meta.get_field(entry.contact_path)
            except FieldDoesNotExist:
                continue  # e.g. a many-to-many path: history does not copy it
            rows = history.filter(**{f"{entry.contact_path}__in": ids})
        if entry.erasure != Erasure.DELETE:
            continue  # kept rows keep their (scrubbed) history; see the anonymisers
        count = rows.delete()[0]
        if count:
            label = _("%(model)s (history)") % {"model": str(entry.model._meta.verbose_name).capitalize()}
            receipt["deleted"][label] += count


def _scrub_admin_log(ids, identities) -> None:
    """Django's admin log names objects by their str(), which for a contact is the name or email."""
    contact_type = ContentType.objects.get_for_model(Contact)
    LogEntry.objects.filter(content_type=contact_type, object_id__in=[str(i) for i in ids]).update(
        object_repr=_("(erased contact)"), change_message=""
    )
    mentions = Q()
    for identity in identities:
        for value in (identity.email, identity.phone):
            if value:
                mentions |= Q(object_repr__icontains=value) | Q(change_message__icontains=value)
        name = f"{identity.first_name} {identity.last_name}".strip()
        if identity.first_name and identity.last_name:
            mentions |= Q(object_repr__icontains=name)
    if mentions:
        LogEntry.objects.filter(mentions).update(object_repr=_("(erased)"), change_message="")


def erasures_reapply() -> list[str]:
    """After a database restore: apply again, through the same erasure, every erasure in the
    ledger that the restored database does not know, and put their identities back on the
    suppression list. Returns one line per erasure for the operator."""
    done = []
    for entry in ledger_gap().missing:
        with transaction.atomic():
            request = DataSubjectRequest.objects.filter(reference=entry["reference"]).first()
            # Ids alone could name someone else in a database that is not a copy of this one: a
            # contact is erased again only if its address or phone is one the entry erased.
            digests = {d for _, d in entry["digests"]}
            people = [
                c
                for c in Contact.objects.filter(pk__in=entry["contacts"])
                if digests & {d for _, d in suppression_pairs(email=c.email, phone=c.phone)}
            ]
            suppression_add_digests(digests=[tuple(d) for d in entry["digests"]], reason=entry["reference"])
            if people:
                contacts_erase(
                    contacts=people, actor=None, request=request, scan=False, ledger_entry=entry["id"]
                )
            else:  # created and erased after the backup: only the suppression was left to restore
                ErasureRecord.objects.create(
                    request=request,
                    contacts_erased=0,
                    receipt={"follow_ups": [_("Re-applied after a restore: no contact left to erase.")]},
                    ledger_entry=entry["id"],
                )
        done.append(
            _(
                "%(at)s %(reference)s: %(erased)d of %(listed)d contacts erased again, %(ids)d identities suppressed"
            )
            % {
                "at": entry["at"],
                "reference": entry["reference"],
                "erased": len(people),
                "listed": len(entry["contacts"]),
                "ids": len(entry["digests"]),
            }
        )
    return done
