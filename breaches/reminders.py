"""The officers' reminders of the 72 hours (GDPR Art. 33(1)): one when a day is left, one when
they have passed, for each breach not yet notified to the authority."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from breaches.clock import SOON
from breaches.models import AUTHORITY_DEADLINE, Breach
from core.links import absolute
from core.mail import templated_message
from staff.roles import privacy_officers


def breach_reminders(*, now=None) -> int:
    """Email every privacy officer the breaches that are due within a day or overdue and were not
    mentioned at that stage before. Returns emails sent.

    Each breach is claimed for its stage (reminded_soon_at, reminded_late_at) in the transaction
    that selects it: a second run, or a second beat, mentions it to nobody again."""
    now = now or timezone.now()
    waiting = Breach.objects.filter(authority_notified_at__isnull=True).exclude(risk=Breach.Risk.UNLIKELY)
    with transaction.atomic():
        late = list(
            waiting.select_for_update()
            .filter(discovered_at__lte=now - AUTHORITY_DEADLINE, reminded_late_at__isnull=True)
            .order_by("discovered_at")
        )
        soon = list(
            waiting.select_for_update()
            .filter(
                discovered_at__lte=now - (AUTHORITY_DEADLINE - SOON),
                discovered_at__gt=now - AUTHORITY_DEADLINE,
                reminded_soon_at__isnull=True,
            )
            .order_by("discovered_at")
        )
        Breach.objects.filter(pk__in=[b.pk for b in late]).update(reminded_late_at=now)
        Breach.objects.filter(pk__in=[b.pk for b in soon]).update(reminded_soon_at=now)
    if not (late or soon):
        return 0
    # The reference and a link only: the summary may say more than a mail server should log.
    lines = [
        {
            "reference": b.reference,
            "due_at": b.authority_due_at,
            "overdue": b in late,
            "url": absolute(reverse("admin:breaches_breach_change", args=[b.pk])),
        }
        for b in late + soon
    ]
    officers = privacy_officers()
    for person in officers:
        templated_message(
            subject=_("Breach register: %(n)d breaches near or past the 72 hours") % {"n": len(lines)},
            template="breach_deadlines",
            context={"person": person, "breaches": lines},
            to=person.email,
        ).send()
    return len(officers)
