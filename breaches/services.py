"""The breach register's writes: recording a breach, and notifying the people it affected (GDPR
Art. 33, 34)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from breaches.models import Breach, BreachNotice
from breaches.selectors import affected_contacts, notifiable_contacts, withheld_contacts
from contacts.models import Contact
from core.languages import in_language
from core.mail import templated_message
from core.send_once import send_once

SAMPLE_SIZE = 10
BATCH = 1000


def breach_save(*, breach: Breach, actor=None) -> Breach:
    """Record a breach or a change to it. Refuses a late notification without the reasons for
    the delay (GDPR Art. 33(1)), as the model's clean() says."""
    if breach._state.adding and breach.created_by_id is None and getattr(actor, "pk", None):
        breach.created_by = actor
    breach.full_clean()
    with transaction.atomic():
        breach.save()
    return breach


@dataclass(frozen=True)
class Preview:
    affected: int
    count: int  # who the notice would reach by email: what "notify" sends to
    already: int  # of them, noticed by an earlier run (not sent again)
    withheld: dict[str, int]  # BreachNotice.withheld code -> people
    sample: list[Contact]


def breach_notice_preview(*, breach: Breach) -> Preview:
    """Who the notice would reach, before anything is sent: counts and a sample."""
    notifiable = notifiable_contacts(breach)
    withheld = {code: rows.count() for code, rows in withheld_contacts(breach).items()}
    return Preview(
        affected=affected_contacts(breach).count(),
        count=notifiable.count(),
        already=notifiable.filter(breach_notices__breach=breach).count(),
        withheld={code: n for code, n in withheld.items() if n},
        sample=list(notifiable.order_by("pk")[:SAMPLE_SIZE]),
    )


def notice_refusal(breach: Breach) -> str:
    if not breach.has_affected_criteria():
        return _("Say who was affected (a list, a purpose, an import source or a period) first.")
    if not breach.people_notice.strip():
        return _("Write the words for the people affected first (Art. 34(2): clear and plain language).")
    return ""


def breach_notify_people(*, breach: Breach, expected: int, actor=None) -> int:
    """Notify the people the breach affected (GDPR Art. 34): one notice row per person, sent once
    by a task after commit; restricted people and those without a working address get a row
    saying why they got no email. `expected` is the count the officer previewed: a different
    count now is refused, so nobody is emailed who was not previewed. Returns the notices
    recorded now (to send or withheld); a second run finds everyone noticed and adds none."""
    from breaches.tasks import send_breach_notices

    refusal = notice_refusal(breach)
    if refusal:
        raise ValidationError(refusal)
    with transaction.atomic():
        # Locks the breach: two officers pressing "notify" at once create the rows one after the other.
        breach = Breach.objects.select_for_update().get(pk=breach.pk)
        count = notifiable_contacts(breach).count()
        if count != expected:
            raise ValidationError(
                _(
                    "The people affected changed since the preview (%(then)d then, %(now)d now): preview again."
                )
                % {"then": expected, "now": count}
            )
        before = BreachNotice.objects.filter(breach=breach).count()
        _notices_create(breach, notifiable_contacts(breach), withheld="")
        for code, contacts in withheld_contacts(breach).items():
            _notices_create(breach, contacts, withheld=code)
        created = BreachNotice.objects.filter(breach=breach).count() - before
        if breach.people_notified_at is None:
            breach.people_notified_at = timezone.now()
            breach.save(update_fields=["people_notified_at", "updated_at"])
        transaction.on_commit(lambda: send_breach_notices.delay(breach.pk))
    return created


def _notices_create(breach: Breach, contacts, *, withheld: str) -> None:
    # ignore_conflicts: a person with a notice already keeps that one (one per breach and person).
    rows = contacts.exclude(breach_notices__breach=breach).values_list("pk", "email")
    batch = []
    for pk, email in rows.iterator(chunk_size=BATCH):
        address = "" if withheld else email  # a withheld notice keeps no address it never used
        batch.append(BreachNotice(breach=breach, contact_id=pk, email=address, withheld=withheld))
        if len(batch) >= BATCH:
            BreachNotice.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    BreachNotice.objects.bulk_create(batch, ignore_conflicts=True)


def breach_notices_send(*, breach_id: int) -> int:
    """Send every notice of the breach not sent yet, each at most once (core.send_once). Returns
    how many were sent now."""
    pending = BreachNotice.objects.filter(breach_id=breach_id, withheld="", sent_at__isnull=True)
    return sum(
        send_once(BreachNotice, pk, _notice_send, done=_withheld_meanwhile)
        for pk in pending.values_list("pk", flat=True).order_by("pk")
    )


def _withheld_meanwhile(notice: BreachNotice) -> bool:
    """Whether the person may no longer get the email: erased (no contact) or restricted since
    the notices were created. Records why on the row (it is locked by send_once)."""
    from breaches.selectors import NOTICE_CRITERIA
    from consent.selectors import ineligibility_reason

    if notice.contact_id is None:
        return True
    reason = ineligibility_reason(notice.contact, **NOTICE_CRITERIA)
    if reason is not None:
        notice.withheld, notice.email = reason.value, ""
        notice.save(update_fields=["withheld", "email"])
    return reason is not None


def _notice_send(notice: BreachNotice) -> None:
    contact, breach = notice.contact, notice.breach
    with in_language(contact.language):
        templated_message(
            subject=_("Important: a breach concerning your personal data"),
            template="breach_notice",
            context={"contact": contact, "breach": breach},
            to=notice.email,
        ).send()
