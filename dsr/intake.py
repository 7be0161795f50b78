"""The public request page's workflow: submit, confirm the address by a link, join the queue.

GDPR Art. 12(6): the controller may confirm the requester's identity; for people known by their
email address, proving they read mail sent to it is that confirmation. The page answers the same
whatever the address (no enumeration), and a link is signed, expiring and works once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from core import tokens
from core.links import nonce_link
from core.normalize import normalize_email
from core.security import recipient_limit_reached
from core.send_once import send_once
from dsr.jurisdictions import default_jurisdiction
from dsr.models import DataSubjectRequest, RequestSubmission
from dsr.services import dsr_create, dsr_verify

LINK_KIND = "dsr-intake"
LINK_LIFETIME = timedelta(hours=48)


def request_submit(
    *,
    kind: str,
    email: str = "",
    phone: str = "",
    name: str = "",
    details: str = "",
    language: str = "",
    jurisdiction: str = "",
):
    """The public form: with an address, confirm it by a link first; with a phone number only,
    the request joins the queue unverified and an officer calls back to check who asks (Art. 12(6)).
    `jurisdiction`: the law of the requester's country (dsr.jurisdictions)."""
    if email:
        return submission_create(
            kind=kind,
            email=email,
            phone=phone,
            name=name,
            details=details,
            language=language,
            jurisdiction=jurisdiction,
        )
    request, _joined = dsr_create(
        kind=kind,
        phone=phone,
        channel=DataSubjectRequest.Channel.WEB,
        name=name,
        details=details,
        language=language,
        jurisdiction=jurisdiction,
    )
    return request


def submission_create(
    *,
    kind: str,
    email: str,
    phone: str = "",
    name: str = "",
    details: str = "",
    language: str = "",
    jurisdiction: str = "",
) -> RequestSubmission | None:
    """Store a submission and queue the email with its confirmation link (sent after commit).

    None, storing and sending nothing, once the address got its hour's confirmation emails: the
    page answers the same (core.security.recipient_limit_reached)."""
    from dsr.tasks import send_submission_link

    email = normalize_email(email)
    if recipient_limit_reached("dsr-request", email):
        return None
    nonce = secrets.token_hex(16)
    submission = RequestSubmission(
        kind=kind,
        email=email,
        phone=phone,
        name=name.strip()[:200],
        details=details.strip(),
        language=language,
        jurisdiction=jurisdiction or default_jurisdiction(),
        nonce=nonce,
        digest=tokens.digest(tokens.derive(nonce)),
        expires_at=timezone.now() + LINK_LIFETIME,
    )
    submission.full_clean()
    with transaction.atomic():
        submission.save()
        transaction.on_commit(lambda: send_submission_link.delay(submission.pk))
    return submission


def submission_link(submission: RequestSubmission) -> str:
    return nonce_link("dsr:confirm", kind=LINK_KIND, nonce=submission.nonce)


def submission_send(*, submission_id: int, send) -> bool:
    """Send the confirmation email at most once, however often the task runs (core.send_once)."""
    return send_once(
        RequestSubmission,
        submission_id,
        lambda submission: send(submission, submission_link(submission)),
        done=lambda submission: submission.confirmed_at is not None,
    )


class LinkStatus(StrEnum):
    """What a confirmation link found. A StrEnum: templates and views compare the plain strings."""

    PENDING = "pending"  # valid, waiting for the click that confirms
    CONFIRMED = "confirmed"  # this click opened (or joined) the request
    ALREADY = "already"  # confirmed before
    EXPIRED = "expired"
    INVALID = "invalid"  # not signed by us, or no such submission


@dataclass
class Outcome:
    status: LinkStatus
    submission: RequestSubmission | None = None
    request: DataSubjectRequest | None = None


def submission_find(link: str, *, for_update: bool = False) -> Outcome:
    rows = RequestSubmission.objects.select_related("request")
    submission = tokens.row_for_link(rows, link, kind=LINK_KIND, for_update=for_update)
    if submission is None:
        return Outcome(LinkStatus.INVALID)
    if submission.confirmed_at:
        return Outcome(LinkStatus.ALREADY, submission, submission.request)
    if submission.expires_at < timezone.now():
        return Outcome(LinkStatus.EXPIRED, submission)
    return Outcome(LinkStatus.PENDING, submission)


@transaction.atomic
def submission_confirm(*, link: str) -> Outcome:
    """The address is proven: open the request (or join the open one) and mark it verified.

    The row lock makes a double click, or two at once, open one request."""
    found = submission_find(link, for_update=True)
    if found.status != LinkStatus.PENDING:
        return found
    submission = found.submission
    request, _joined = dsr_create(
        kind=submission.kind,
        email=submission.email,
        phone=submission.phone,
        link_by_phone=False,  # the link proves the address, not the number
        channel=DataSubjectRequest.Channel.WEB,
        name=submission.name,
        details=submission.details,
        language=submission.language,
        jurisdiction=submission.jurisdiction,
    )
    if request.verified_at is None:
        request = dsr_verify(
            request=request,
            actor=None,
            how=f"confirmed the address by the link emailed to it ({timezone.now():%Y-%m-%d %H:%M %Z})",
        )
    submission.confirmed_at, submission.request = timezone.now(), request
    submission.save(update_fields=["confirmed_at", "request"])
    from dsr.tasks import send_acknowledgement

    transaction.on_commit(lambda: send_acknowledgement.delay(request.pk))
    return Outcome(LinkStatus.CONFIRMED, submission, request)


def submissions_purge(*, now=None) -> int:
    """Delete submissions whose link expired unconfirmed, and the addresses of confirmed ones
    (the request holds what is needed from then on)."""
    now = now or timezone.now()
    expired = RequestSubmission.objects.filter(confirmed_at__isnull=True, expires_at__lt=now).delete()[0]
    done = RequestSubmission.objects.filter(confirmed_at__lt=now - timedelta(days=1)).delete()[0]
    return expired + done
