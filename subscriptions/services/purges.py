"""What the subscriptions stop keeping: dead links, and the double opt-in evidence of erased people
(sign-ups nobody confirmed are purged through the erasure: dsr.unconfirmed)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from consent.audit_chain import subject_hash
from core.batches import delete_in_batches
from subscriptions.models import AccessToken, ConsentRequest


def expired_links_purge() -> int:
    """Delete expired center and confirmation links that no request keeps as evidence."""
    stale = AccessToken.objects.filter(expires_at__lt=timezone.now(), consent_request__isnull=True).exclude(
        kind=AccessToken.Kind.UNSUBSCRIBE  # leaving keeps working after expiry
    )
    return delete_in_batches(stale)[0]  # a link per contact: a big table at scale


def consent_requests_pseudonymise(requests: QuerySet[ConsentRequest]) -> int:
    """The double opt-in evidence of people being erased, as their consent change records are
    (consent.services.consent_changes_pseudonymise): a confirmed request stays as proof of what was
    confirmed, when, with which wording (GDPR Art. 7(1), 17(3)(e)), without whom, where from or
    which address; the keyed hash of the contact's id ties it to the same person's pseudonymised
    records for whoever holds the key. A request nobody confirmed proves nothing: it goes.

    Its link goes with the erasure's deletion of the person's links (the token is SET_NULL)."""
    requests = requests.filter(pseudonymised=False, contact__isnull=False)
    requests.filter(confirmed_at__isnull=True).delete()
    # One person's few requests per erasure: row by row is clear and cheap.
    confirmed = list(requests.filter(confirmed_at__isnull=False))
    for request in confirmed:
        request.subject_tag = subject_hash(request.contact_id)
        request.changes = {k: v for k, v in request.changes.items() if k != "email"}  # a new address
        request.contact, request.nonce, request.sent_to = None, "", ""
        request.request_ip = request.confirm_ip = None
        request.request_user_agent = request.confirm_user_agent = ""
        request.pseudonymised = True
    ConsentRequest.objects.bulk_update(confirmed, PSEUDONYMISED_FIELDS)
    return len(confirmed)


PSEUDONYMISED_FIELDS = [
    "subject_tag",
    "changes",
    "contact",
    "nonce",
    "sent_to",
    "request_ip",
    "confirm_ip",
    "request_user_agent",
    "confirm_user_agent",
    "pseudonymised",
]
