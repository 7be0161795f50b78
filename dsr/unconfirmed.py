"""Sign-ups nobody confirmed (issue 21, scope 6): after UNCONFIRMED_SIGNUP_PURGE_DAYS nothing of
them is kept. GDPR Art. 5(1)(e): an address someone typed into a form is not kept without its
owner's yes, and it may not even be theirs.

A contact that only such a sign-up created is erased through the erasure (dsr.erasure), so its
history, links, requests and admin log entries go too, without joining the suppression list (the
owner may still sign up). An existing contact keeps itself; only the request nobody confirmed, its
link and the pending subscriptions it left go.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from consent.models import ConsentChange
from consent.selectors import eligible_contacts
from contacts.models import Contact, LegalHold
from core.levels import ConsentLevel
from dsr.erasure import contacts_erase
from dsr.models import DataSubjectRequest
from subscriptions.models import AccessToken, ConsentRequest, Subscription

BATCH = 200  # contacts per erasure (one transaction and one erasure record each)
REASON = "unconfirmed sign-up purged after %d days (UNCONFIRMED_SIGNUP_PURGE_DAYS)"


def _cutoff(now) -> timezone.datetime:
    return (now or timezone.now()) - timedelta(days=settings.UNCONFIRMED_SIGNUP_PURGE_DAYS)


def unconfirmed_signups(*, now=None):
    """Contacts a sign-up created that nothing else keeps: no request confirmed or made within
    the period, no consent ever recorded, no subscription but pending ones, no legal hold, no data
    subject request, nobody's guardian."""
    cutoff = _cutoff(now)
    requests = ConsentRequest.objects.filter(contact=OuterRef("pk"))
    candidates = Contact.objects.filter(
        Exists(requests.filter(created_contact=True)),
        ~Exists(requests.filter(Q(confirmed_at__isnull=False) | Q(requested_at__gte=cutoff))),
        ~Exists(ConsentChange.objects.filter(contact=OuterRef("pk"))),
        ~Exists(
            Subscription.objects.filter(contact=OuterRef("pk")).exclude(status=Subscription.Status.PENDING)
        ),
        ~Exists(LegalHold.objects.filter(contact=OuterRef("pk"))),
        ~Exists(DataSubjectRequest.contacts.through.objects.filter(contact_id=OuterRef("pk"))),
        ~Exists(Contact.objects.filter(guardian=OuterRef("pk"))),
        consent_given=0,
    )
    # Chosen to be processed (erased), so through the eligibility selector: never a restricted one.
    return eligible_contacts(min_level=ConsentLevel.NONE, queryset=candidates)


def unconfirmed_signups_purge(*, now=None) -> dict:
    """Erase the contacts unconfirmed sign-ups alone created, and delete requests nobody confirmed
    on other contacts, once the period has passed. Idempotent: a rerun finds nothing new."""
    days = settings.UNCONFIRMED_SIGNUP_PURGE_DAYS
    erased = 0
    while True:
        batch = list(unconfirmed_signups(now=now).order_by("pk")[:BATCH])
        if not batch:
            break
        contacts_erase(contacts=batch, actor=None, scan=False, reason=REASON % days, suppress=False)
        erased += len(batch)
    return {"contacts erased": erased, "requests deleted": _stale_requests_delete(now=now)}


def _stale_requests_delete(*, now=None) -> int:
    """Requests nobody confirmed, older than the period, with dead links: the request (its address,
    IP and browser), its link and the pending subscriptions no other waiting request asks for."""
    now = now or timezone.now()
    stale = ConsentRequest.objects.filter(
        Q(token__isnull=True) | Q(token__expires_at__lte=now),
        confirmed_at__isnull=True,
        requested_at__lt=_cutoff(now),
        contact__isnull=False,
    )
    deleted = 0
    for request in stale.select_related("token").iterator(chunk_size=BATCH):
        with transaction.atomic():
            waiting = ConsentRequest.objects.filter(
                contact=request.contact_id, confirmed_at__isnull=True
            ).exclude(pk=request.pk)
            Subscription.objects.filter(
                contact=request.contact_id,
                status=Subscription.Status.PENDING,
                subscription_list__in=request.lists.all(),
            ).exclude(subscription_list__consent_requests__in=waiting).delete()
            token_id = request.token_id
            request.delete()
            AccessToken.objects.filter(pk=token_id).delete()
            deleted += 1
    return deleted
