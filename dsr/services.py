"""Data subject requests: intake, lifecycle and deadlines. Each request's law (dsr.jurisdictions)
sets its clock (dsr.clocks): e.g. GDPR Art. 12(3), an answer within one month of receipt,
extendable by two further months with reasons given to the requester within the first."""

from __future__ import annotations

import operator
from functools import reduce

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.activity import last_actions_record
from contacts.models import Contact
from core.locks import lock_name
from core.normalize import normalize_email, normalize_phone
from dsr.assignee_mail import assignment_notify
from dsr.clocks import clock_waits_for_identity, request_clock
from dsr.downstream import downstream_check, downstream_waiting
from dsr.jurisdictions import default_jurisdiction, law_of
from dsr.models import AgentAuthority, DataSubjectRequest, RequestStatusLink
from webhooks.models import EventType
from webhooks.outbox import event_publish

Status = DataSubjectRequest.Status


class Conflict(ValidationError):
    """Someone else changed the request first; reload and decide again."""


@transaction.atomic
def dsr_create(
    *,
    kind: str,
    channel: str,
    email: str = "",
    phone: str = "",
    name: str = "",
    details: str = "",
    actor=None,
    link_by_phone: bool = True,
    language: str = "",
    jurisdiction: str = "",
) -> tuple[DataSubjectRequest, bool]:
    """Open a request, or join the open one of the same type for the same address (or number).

    Returns (request, created). Links every contact holding the address or the number (several
    may share one). A request by telephone or letter may give a phone number only.
    link_by_phone=False: the number is kept for the officer but links nobody, for a request whose
    address is proven and whose number is not (the public page): a typed number must not open
    someone else's data. `language`: the one the request was made in (for its emails).
    `jurisdiction`: the law whose clock applies (dsr.jurisdictions), the default one if blank."""
    law_of(jurisdiction or default_jurisdiction())  # an unknown law is refused before anything
    email, phone = _requester_checked(kind=kind, email=email, phone=phone)
    # Two submissions at once (API calls, confirmed links) make one request: locking the open
    # requests is not enough while there is none yet, so the address (or number) and type are
    # locked by name.
    lock_name("dsr-open-request", kind, email or f"phone:{phone}")
    existing = _open_request_of(kind=kind, email=email, phone=phone)
    if existing is not None:
        if details.strip():
            existing.notes = f"{existing.notes}\n[{timezone.now():%Y-%m-%d}] {details.strip()}".strip()
            existing._history_user = actor
            existing.save(update_fields=["notes"])
        return existing, False
    now = timezone.now()
    request = DataSubjectRequest(
        kind=kind,
        requester_email=email,
        requester_phone=phone,
        requester_name=name.strip(),
        details=details.strip(),
        channel=channel,
        language=language,
        jurisdiction=jurisdiction or default_jurisdiction(),
        received_at=now,
    )
    request.due_at = request_clock(request, recompute=True).due_at
    request._history_user = actor
    request.full_clean()
    request.save()
    holders = [Q(email=email)] if email else []
    if phone and link_by_phone:
        holders.append(Q(phone=phone))
    # No condition links nobody (an empty Q would match every contact).
    linked = (
        list(Contact.objects.filter(reduce(operator.or_, holders)).values_list("pk", flat=True))
        if holders
        else []
    )
    request.contacts.set(linked)
    last_actions_record(moments=dict.fromkeys(linked, now))  # a request is the person's own action
    _announce(request)
    return request, True


def _requester_checked(*, kind: str, email: str, phone: str) -> tuple[str, str]:
    """The address and number normalised; refused without either, or for an unknown type."""
    email = normalize_email(email)
    try:
        phone = normalize_phone(phone)
    except ValidationError as error:
        raise ValidationError({"requester_phone": error.messages}) from None
    if not email and not phone:  # blank is allowed in the table only for requests an erasure scrubbed
        raise ValidationError({"requester_email": _("Give the requester's email address or phone number.")})
    if kind not in DataSubjectRequest.Kind.values:
        raise ValidationError(_("Unknown request type “%(kind)s”.") % {"kind": kind})
    return email, phone


def _open_request_of(*, kind: str, email: str, phone: str) -> DataSubjectRequest | None:
    """The oldest open request of this type by the same address (or number only), locked."""
    same_person = Q(requester_email=email) if email else Q(requester_email="", requester_phone=phone)
    return (
        DataSubjectRequest.objects.select_for_update()
        .filter(same_person, kind=kind, status__in=DataSubjectRequest.OPEN)
        .order_by("received_at")
        .first()
    )


@transaction.atomic
def dsr_link_contacts(*, request, contacts, actor, expected_status: str | None = None) -> int:
    """Link contacts found later (by another address, a phone number, a name) to an open request,
    so discovery, the export bundle and erasure reach them too. Returns how many were new."""
    locked = _locked(request, expected_status)
    ids = {c.pk for c in contacts}
    if not ids:
        raise ValidationError(_("Choose the contacts to link."))
    new = ids - set(locked.contacts.values_list("pk", flat=True))
    found = set(Contact.objects.filter(pk__in=new).values_list("pk", flat=True))
    if found != new:
        raise ValidationError(_("A contact was erased or merged meanwhile. Search again."))
    if new:
        locked.contacts.add(*found)
        last_actions_record(moments=dict.fromkeys(found, locked.received_at))
        # The link itself is in the many-to-many table; the request's history says who made it.
        _save(locked, actor, f"linked contacts {', '.join(f'#{pk}' for pk in sorted(found))}", "status")
    return len(new)


def _locked(request: DataSubjectRequest, expected_status: str | None) -> DataSubjectRequest:
    locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    if expected_status is not None and locked.status != expected_status:
        raise Conflict(
            _("%(ref)s changed meanwhile (now “%(status)s”). Reload it and decide again.")
            % {"ref": locked.reference, "status": locked.get_status_display()}
        )
    if not locked.is_open:
        raise ValidationError(_("%(ref)s is closed.") % {"ref": locked.reference})
    return locked


def _save(request, actor, reason, *fields):
    request._history_user = actor
    request._change_reason = reason
    request.full_clean()
    request.save(update_fields=list(fields))
    if "status" in fields:
        _announce(request)
    return request


def _announce(request) -> None:
    """Downstream systems follow each request's status (no requester details: the reference and the
    contact ids they already know)."""
    event_publish(
        type=EventType.REQUEST_STATUS,
        contact_id=None,
        subject=f"request:{request.reference}",
        data={
            "request": {"reference": request.reference, "kind": request.kind, "status": request.status},
            "contacts": sorted(request.contacts.values_list("pk", flat=True)),
        },
    )


@transaction.atomic
def dsr_verify(*, request, actor, how: str, expected_status: str | None = None) -> DataSubjectRequest:
    """Record how the requester's identity was checked (GDPR Art. 12(6))."""
    if not how.strip():
        raise ValidationError({"verification": _("Say how the identity was verified.")})
    locked = _locked(request, expected_status)
    if AgentAuthority.objects.filter(request=locked, state=AgentAuthority.State.PENDING).exists():
        # CCPA Regulations § 7063(a)(2): the person confirms their agent directly (dsr.agents).
        raise ValidationError(
            _("The person has not yet confirmed that the agent acts for them; the request waits for that.")
        )
    locked.status, locked.verified_at, locked.verification = Status.VERIFIED, timezone.now(), how.strip()
    if locked.extended_until is None and clock_waits_for_identity(locked):
        locked.due_at = request_clock(locked, recompute=True).due_at
    return _save(locked, actor, "identity verified", "status", "verified_at", "verification", "due_at")


@transaction.atomic
def dsr_start(*, request, actor, expected_status: str | None = None) -> DataSubjectRequest:
    locked = _locked(request, expected_status)
    if locked.verified_at is None:
        raise ValidationError(_("Verify the requester's identity before working on the request."))
    locked.status = Status.IN_PROGRESS
    locked.assignee = locked.assignee or actor
    return _save(locked, actor, "work started", "status", "assignee")  # to the actor: no email


@transaction.atomic
def dsr_extend(
    *, request, actor, until, reason: str, expected_status: str | None = None
) -> DataSubjectRequest:
    locked = _locked(request, expected_status)
    if not reason.strip():
        raise ValidationError(
            {"extension_reason": _("An extension needs its reason (the requester is told).")}
        )
    _extension_check(locked, until)
    locked.status, locked.extended_until, locked.extension_reason = Status.EXTENDED, until, reason.strip()
    _save(locked, actor, "deadline extended", "status", "extended_until", "extension_reason")
    # Art. 12(3): the requester is told of the extension and its reasons within the first month.
    from dsr.tasks import send_extension_notice

    transaction.on_commit(lambda: send_extension_notice.delay(locked.pk))
    return locked


def _extension_check(request: DataSubjectRequest, until) -> None:
    """The law's extension: allowed at all, announced in time, and no longer than it lets."""
    clock = request_clock(request)
    law, now = clock.law, timezone.now()
    if clock.extension_latest is None:
        raise ValidationError(
            {"extended_until": _("%(law)s allows no extension of the deadline.") % {"law": law.name}}
        )
    if now > clock.extension_announce_by:
        raise ValidationError(
            {
                "extended_until": _(
                    "Too late to extend: under %(law)s the requester must be told by %(date)s, "
                    "before the answer was due. Answer now."
                )
                % {"law": law.name, "date": timezone.localdate(clock.extension_announce_by)}
            }
        )
    if until <= clock.due_at or until > clock.extension_latest:
        raise ValidationError(
            {
                "extended_until": _(
                    "Under %(law)s an extension ends after the due date (%(due)s) and by %(latest)s."
                )
                % {
                    "law": law.name,
                    "due": timezone.localdate(clock.due_at),
                    "latest": timezone.localdate(clock.extension_latest),
                }
            }
        )


@transaction.atomic
def dsr_jurisdiction_change(
    *, request, actor, jurisdiction: str, expected_status: str | None = None
) -> DataSubjectRequest:
    """Put a request under another law (the requester's country turned out to be another one):
    its deadline is computed again under that law, and the change is in the request's history."""
    locked = _locked(request, expected_status)
    law = law_of(jurisdiction)
    if law.code == locked.jurisdiction:
        raise ValidationError(
            {"jurisdiction": _("The request is under %(law)s already.") % {"law": law.name}}
        )
    if locked.extended_until is not None:
        raise ValidationError(
            {"jurisdiction": _("The requester was told of an extension under its law: answer under it.")}
        )
    if locked.kind not in law.rights:
        raise ValidationError(
            {
                "jurisdiction": _(
                    "%(law)s gives no right of this type (%(kind)s): decline the request instead."
                )
                % {"law": law.name, "kind": locked.get_kind_display()}
            }
        )
    before, locked.jurisdiction = locked.jurisdiction, law.code
    locked.due_at = request_clock(locked, recompute=True).due_at
    reason = f"jurisdiction {before} -> {law.code}; due {timezone.localdate(locked.due_at)}"
    return _save(locked, actor, reason, "jurisdiction", "due_at")


@transaction.atomic
def dsr_complete(*, request, actor, expected_status: str | None = None) -> DataSubjectRequest:
    locked = _locked(request, expected_status)
    if locked.verified_at is None:
        raise ValidationError(_("A request is completed only for a verified requester."))
    downstream_check(locked)
    locked.status, locked.closed_at = Status.COMPLETED, timezone.now()
    return _save(locked, actor, "completed", "status", "closed_at")


def _complete_unless_downstream_waits(locked, actor, done: str) -> DataSubjectRequest:
    """Complete a fulfilled request, or keep it in progress until every downstream system
    acknowledged (GDPR Art. 17(2), 19); dsr_complete closes it then."""
    if downstream_waiting(locked):
        locked.status = Status.IN_PROGRESS
        return _save(locked, actor, f"{done}; waiting for downstream systems", "status")
    locked.status, locked.closed_at = Status.COMPLETED, timezone.now()
    return _save(locked, actor, f"{done} and completed", "status", "closed_at")


@transaction.atomic
def dsr_decline(*, request, actor, reason: str, expected_status: str | None = None) -> DataSubjectRequest:
    if not reason.strip():
        raise ValidationError({"decline_reason": _("Declining needs a reason (Art. 12(4)).")})
    locked = _locked(request, expected_status)
    locked.status, locked.closed_at, locked.decline_reason = Status.DECLINED, timezone.now(), reason.strip()
    return _save(locked, actor, "declined", "status", "closed_at", "decline_reason")


@transaction.atomic
def dsr_assign(*, requests, assignee, actor) -> int:
    """Give open requests to `assignee`; a newly assigned colleague is emailed (dsr.assignee_mail)."""
    count = 0
    for request in DataSubjectRequest.objects.select_for_update().filter(pk__in=[r.pk for r in requests]):
        if request.is_open:
            changed = request.assignee_id != assignee.pk
            request.assignee = assignee
            _save(request, actor, f"assigned to user #{assignee.pk}", "assignee")  # no name in logs
            if changed:
                assignment_notify(request=request, actor=actor)
            count += 1
    return count


def dsr_requests_pseudonymise(requests) -> int:
    """Strip the requester's identity from requests and their history, keeping what was asked,
    when, and how it was answered (GDPR Art. 5(2): proof the request was handled in time)."""
    ids = list(requests.values_list("pk", flat=True))
    blank = {
        "requester_email": "",
        "requester_phone": "",
        "requester_name": "",
        "details": "",
        "notes": "",
        "verification": "",
    }
    DataSubjectRequest.history.filter(id__in=ids).update(**blank)
    # Their status links die with the person: the registry deletes those of requests linked to
    # the erased contacts (dsr.privacy); this also reaches requests sent from the address only.
    RequestStatusLink.objects.filter(request__in=ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return DataSubjectRequest.objects.filter(pk__in=ids).update(**blank)


@transaction.atomic
def dsr_erase(*, request, actor, expected_status: str | None = None):
    """Fulfil a verified erasure request: erase its contacts everywhere, complete it, and send the
    requester the erasure receipt (GDPR Art. 17, 19). Returns the ErasureRecord."""
    from dsr.erasure import contacts_erase

    locked = _locked(request, expected_status)
    if locked.kind != DataSubjectRequest.Kind.ERASE:
        raise ValidationError(_("Only an erasure request erases data."))
    if locked.verified_at is None:
        raise ValidationError(_("Verify the requester's identity before erasing anything."))
    send_to = locked.requester_email  # the request itself is pseudonymised by the erasure
    languages = locked.person_languages()  # read before the contacts (and their language) go
    record = contacts_erase(contacts=list(locked.contacts.all()), actor=actor, request=locked)
    locked.refresh_from_db()
    _complete_unless_downstream_waits(locked, actor, "erased")
    if send_to:
        # Sent from this process after commit, not queued: the broker never holds the address.
        transaction.on_commit(lambda: _send_erasure_receipt(record, send_to, languages))
    return record


def _send_erasure_receipt(record, to: str, languages: list[str]) -> None:
    from core.languages import in_language
    from core.mail import templated_message

    with in_language(*languages):
        templated_message(
            subject=_("Your data has been erased (%(ref)s)") % {"ref": record.request.reference},
            template="erasure_receipt",
            context={"record": record, "reference": record.request.reference},
            to=to,
        ).send()


@transaction.atomic
def dsr_restrict(*, request, actor, expected_status: str | None = None) -> DataSubjectRequest:
    """Fulfil a verified restriction request (GDPR Art. 18): every linked contact is kept but no
    longer processed by anything (the eligibility selector skips them), then complete it."""
    from contacts.services import contact_update

    locked = _locked(request, expected_status)
    if locked.kind != DataSubjectRequest.Kind.RESTRICT:
        raise ValidationError(_("Only a restriction request restricts processing."))
    if locked.verified_at is None:
        raise ValidationError(_("Verify the requester's identity before restricting processing."))
    contacts = list(locked.contacts.all())
    if not contacts:
        raise ValidationError(_("There is no contact to restrict: link the request to its contacts first."))
    for contact in contacts:
        contact_update(
            contact=contact,
            actor=actor,
            reason=f"restriction requested ({locked.reference})",
            processing_restricted=True,
        )
    return _complete_unless_downstream_waits(
        locked, actor, f"processing restricted for {len(contacts)} contacts"
    )
