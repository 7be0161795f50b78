"""Forward to a friend: a contact passes one journey email on to someone else's address.

The link in the email is signed (it names the step run that sent it) and expires with the
forwarding window. The friend gets that one email, addressed to nobody by name, with a way to
sign up themselves; they are never created as a contact, and the record of the forward is deleted
after FORWARD_RETENTION. An address on the erasure suppression list gets nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact
from contacts.suppression import is_suppressed
from core.batches import delete_in_batches
from core.links import absolute
from core.normalize import normalize_email
from journeys.models import ForwardedEmail, StepRun

FORWARD_RETENTION = timedelta(days=30)
MAX_FORWARDS = 5  # per email received: enough for friends, too few for a mailing list
SALT = "journeys.forward"


def forward_link(step_run_id: int) -> str:
    token = signing.dumps(step_run_id, salt=SALT, compress=True)
    return absolute(reverse("journeys:forward", args=[token]))


def forward_find(token: str) -> StepRun | None:
    """The email a link forwards, or None if the link is forged or older than the window."""
    try:
        step_run_id = signing.loads(token, salt=SALT, max_age=FORWARD_RETENTION)
    except signing.BadSignature:
        return None
    return (
        StepRun.objects.select_related("step__template", "enrolment__journey").filter(pk=step_run_id).first()
    )


def forward_send(*, step_run: StepRun, friend_email: str) -> bool:
    """Send the email to the friend once. Returns whether it was sent (the page answers the same)."""
    from journeys.emails import send_forwarded_email

    friend_email = normalize_email(friend_email)
    if step_run.enrolment.contact_id is None:
        return False  # the sender was erased meanwhile
    sender = Contact.objects.filter(pk=step_run.enrolment.contact_id).first()
    if sender is None or sender.email == friend_email:
        return False
    if is_suppressed(email=friend_email):
        return False
    try:
        with transaction.atomic():
            if ForwardedEmail.objects.filter(step_run=step_run).count() >= MAX_FORWARDS:
                raise ValidationError(_("This email has been forwarded as often as it can be."))
            ForwardedEmail.objects.create(step_run=step_run, friend_email=friend_email)
    except IntegrityError:
        return False  # already forwarded to this address
    send_forwarded_email(template=step_run.step.template, journey=step_run.enrolment.journey, to=friend_email)
    return True


def forwards_purge(*, now=None) -> int:
    """Delete the record of forwards older than FORWARD_RETENTION (GDPR Art. 5(1)(e))."""
    cutoff = (now or timezone.now()) - FORWARD_RETENTION
    return delete_in_batches(ForwardedEmail.objects.filter(created_at__lt=cutoff))[0]
