"""Daily deadline reminders for the request queue: each open request due within 7 days or
overdue is mentioned to its assignee (or to every privacy officer while unassigned) once a day,
with the requester's comment and a link to each linked contact."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.mail import templated_message
from dsr.assignee_mail import request_brief
from dsr.clocks import DEADLINE, deadline_before
from dsr.models import DataSubjectRequest
from staff.roles import privacy_officers

SOON = timedelta(days=7)


def deadline_reminders(*, now=None) -> int:
    """Mark overdue requests, then email each recipient their due requests. Returns emails sent.

    A request is claimed for today (reminded_on) in the same transaction that selects it, so a
    second run on the same day, or a second beat, mentions it to nobody again.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    open_ = DataSubjectRequest.objects.filter(status__in=DataSubjectRequest.OPEN)
    open_.filter(deadline_before(now), overdue_since__isnull=True).update(overdue_since=today)

    with transaction.atomic():
        due = list(
            open_.select_for_update(of=("self",))
            .filter(deadline_before(now + SOON))
            .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today))
            .select_related("assignee")
            .prefetch_related("contacts")
            .order_by(DEADLINE)
        )
        DataSubjectRequest.objects.filter(pk__in=[r.pk for r in due]).update(reminded_on=today)

    officers = privacy_officers()
    by_person = defaultdict(list)
    for request in due:
        for person in [request.assignee] if request.assignee and request.assignee.email else officers:
            by_person[person].append(request)
    for person, requests in by_person.items():
        # Each with the requester's comment and its contacts' links (dsr.assignee_mail).
        lines = [request_brief(r, now=now) for r in requests]
        templated_message(
            subject=_("%(n)d data subject requests need you") % {"n": len(lines)},
            template="dsr_deadlines",
            context={"person": person, "requests": lines},
            to=person.email,
        ).send()
    return len(by_person)
