"""The requester's status link: follow a data request without an account (issue 18, scope 4).

The acknowledgement (and the extension and bundle-ready emails) carry one signed link per request,
/requests/status/<random>:<signature>/ (core.tokens): nothing in it names the person or the
request. Only the nonce and the digest of the random part are stored (RequestStatusLink); the
link is rebuilt from the nonce with SECRET_KEY, so neither the database nor the broker holds it.

A link that is forged, unknown, revoked by an erasure or past its time finds nothing, and the page
cannot tell these apart (no enumeration): `status_of` answers None for all of them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import tokens
from core.links import nonce_link
from core.models import ComplianceSettings
from dsr.bundles import bundle_usable_path
from dsr.jurisdictions import answer_terms
from dsr.models import DataSubjectRequest, ExportBundle, RequestStatusLink

LINK_KIND = "dsr-status"
# After the answer the requester still needs the page: to read the outcome (a refusal's reason,
# Art. 12(4)), to reach the download while its own link lives, and to check what they were told
# before complaining to a supervisory authority. A month covers that; longer would leave a key to
# their request lying in a mailbox with no use left (Art. 5(1)(e)).
AFTER_CLOSE = timedelta(days=30)

Status = DataSubjectRequest.Status
# The officer's statuses in the requester's words.
STATUS_WORDS = {
    Status.NEW: _("Received: we are checking that the request comes from you."),
    Status.VERIFIED: _("Received and confirmed: it is waiting for us to start work on it."),
    Status.IN_PROGRESS: _("We are working on your request."),
    Status.EXTENDED: _("We are working on your request and need more time (see below)."),
    Status.COMPLETED: _("Answered: your request is complete."),
    Status.DECLINED: _("Declined: we did not carry out your request (see the reason below)."),
}


def status_link_issue(*, request: DataSubjectRequest) -> RequestStatusLink:
    """The request's status link, made on first use; every email of the request shares it."""
    existing = RequestStatusLink.objects.filter(request=request).first()
    if existing is not None:
        return existing
    nonce = secrets.token_hex(16)
    try:
        with transaction.atomic():
            return RequestStatusLink.objects.create(
                request=request, nonce=nonce, digest=tokens.digest(tokens.derive(nonce))
            )
    except IntegrityError:  # two emails of the same request at once: the other one made it
        return RequestStatusLink.objects.get(request=request)


def status_link_url(*, request: DataSubjectRequest) -> str:
    """The absolute link for an email to the requester."""
    link = status_link_issue(request=request)
    return nonce_link("dsr:status", kind=LINK_KIND, nonce=link.nonce)


def usable_until(request: DataSubjectRequest) -> datetime | None:
    """None while the request is open (the link works throughout); else when the link stops."""
    if request.is_open:
        return None
    # The download link lives export_link_days from its release, which is before the close.
    days = ComplianceSettings.load().export_link_days
    return (request.closed_at or request.received_at) + max(AFTER_CLOSE, timedelta(days=days))


def status_link_find(text: str) -> RequestStatusLink | None:
    """The live link behind `text`, or None: forged, unknown, revoked, erased or expired alike."""
    try:
        raw = tokens.unsign(text, kind=LINK_KIND)
    except tokens.InvalidLink:
        return None
    link = RequestStatusLink.objects.select_related("request").filter(digest=tokens.digest(raw)).first()
    if link is None or link.revoked_at is not None:
        return None
    # A request pseudonymised by an erasure no longer belongs to anyone who could hold the link.
    if not link.request.requester_email:
        return None
    until = usable_until(link.request)
    if until is not None and until < timezone.now():
        return None
    return link


@dataclass(frozen=True)
class RequestStatus:
    """What the status page shows: the request's state, never who made it."""

    request: DataSubjectRequest
    words: str
    download_path: str | None
    download_until: datetime | None
    released_but_gone: bool  # a bundle was released and its link no longer works
    terms: str = ""  # the time the request's law gives to answer (dsr.jurisdictions)


def status_of(text: str) -> RequestStatus | None:
    """The page's facts for a status link, or None for any link that does not work."""
    link = status_link_find(text)
    if link is None:
        return None
    request = link.request
    released = (
        request.bundles.filter(status=ExportBundle.Status.RELEASED, revoked_at__isnull=True)
        .order_by("-released_at")
        .first()
    )
    # The download page's own checks decide (expiry, downloads left, revocation): the status page
    # only points at it, so the download link is protected exactly as in its email.
    path = bundle_usable_path(released) if released else None
    return RequestStatus(
        request=request,
        words=STATUS_WORDS[request.status],
        download_path=path,
        download_until=released.link_expires_at if path else None,
        released_but_gone=released is not None and path is None,
        terms=answer_terms(request.clock.law),
    )


def status_links_purge(*, now=None) -> int:
    """Delete links that can no longer open anything: revoked, or of requests closed long ago."""
    now = now or timezone.now()
    longest = max(AFTER_CLOSE, timedelta(days=ComplianceSettings.load().export_link_days))
    closed = RequestStatusLink.objects.filter(request__closed_at__lt=now - longest).exclude(
        request__status__in=DataSubjectRequest.OPEN
    )
    revoked = RequestStatusLink.objects.filter(revoked_at__isnull=False)
    return closed.delete()[0] + revoked.delete()[0]
