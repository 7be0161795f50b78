"""What reaches the member of staff a request is assigned to (issue 25, scope 6): the requester's
comment and a link to each linked contact, in the assignment email, in the deadline reminders and
in the queue's preview. Subjects name the request's reference only, never the person: a subject
line is what mail servers log and notifications show on locked screens."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.links import absolute
from core.mail import templated_message
from dsr.models import DataSubjectRequest


def contact_links(request: DataSubjectRequest) -> list[dict]:
    """Each linked contact's page in the back office (its id only: the page says who it is)."""
    return [
        {"pk": contact.pk, "url": absolute(reverse("admin:contacts_contact_change", args=[contact.pk]))}
        for contact in request.contacts.all()
    ]


def request_brief(request: DataSubjectRequest, *, now=None) -> dict:
    """The request as its assignee reads it in an email: reference, type, deadline, the requester's
    comment and the linked contacts, each with a link to its page."""
    now = now or timezone.now()
    clock = request.clock  # the request's law sets its deadline (dsr.clocks)
    return {
        "reference": request.reference,
        "kind": request.get_kind_display(),
        "deadline": clock.deadline,
        "overdue": clock.overdue(now),
        "url": absolute(reverse("admin:dsr_datasubjectrequest_change", args=[request.pk])),
        "comment": request.details.strip(),
        "contacts": contact_links(request),
    }


def assignment_notify(*, request: DataSubjectRequest, actor) -> None:
    """Email the request's new assignee once the assignment commits, unless they assigned it to
    themselves (they are looking at it). The task reads the request afresh and sends nothing if
    it was reassigned or closed in between."""
    assignee_id = request.assignee_id
    if assignee_id is None or assignee_id == getattr(actor, "pk", None):
        return
    from dsr.tasks import send_assignment_notice

    transaction.on_commit(lambda: send_assignment_notice.delay(request.pk, assignee_id))


def assignment_send(*, request_id: int, assignee_id: int) -> bool:
    """Send the assignment email, if the request is still open and still theirs. Returns whether sent."""
    request = DataSubjectRequest.objects.select_related("assignee").filter(pk=request_id).first()
    if request is None or not request.is_open or request.assignee_id != assignee_id:
        return False
    if not request.assignee.email or not request.assignee.is_active:
        return False
    templated_message(
        subject=_("Data subject request %(ref)s is assigned to you") % {"ref": request.reference},
        template="dsr_assigned",
        context={"person": request.assignee, "request": request_brief(request)},
        to=request.assignee.email,
    ).send()
    return True
