import smtplib

from celery import shared_task
from django.utils.translation import gettext as _

from dsr.intake import submission_send, submissions_purge
from dsr.models import DataSubjectRequest
from dsr.reminders import deadline_reminders
from subscriptions.emails import templated_message

MAIL_RETRY = {"autoretry_for": (smtplib.SMTPException, OSError), "retry_backoff": 30, "max_retries": 8}


@shared_task(name="dsr.deadline_reminders")
def remind_deadlines() -> int:
    """Daily: mark overdue requests and remind assignees. Idempotent within a day."""
    return deadline_reminders()


def _send_link(submission, link: str) -> None:
    templated_message(
        subject=_("Please confirm your request about your data"),
        template="dsr_confirm_address",
        context={"submission": submission, "link": link},
        to=submission.email,
    ).send()


@shared_task(name="dsr.send_submission_link", **MAIL_RETRY)
def send_submission_link(submission_id: int) -> bool:
    """The confirmation link for a request typed into the public page; sent at most once."""
    return submission_send(submission_id=submission_id, send=_send_link)


@shared_task(name="dsr.send_acknowledgement", **MAIL_RETRY)
def send_acknowledgement(request_id: int) -> bool:
    """Tell the requester their request is in the queue, with its reference and deadline."""
    request = DataSubjectRequest.objects.filter(pk=request_id).first()
    if request is None or not request.requester_email:
        return False
    templated_message(
        subject=_("%(ref)s: we have your request") % {"ref": request.reference},
        template="dsr_acknowledgement",
        context={"request": request},
        to=request.requester_email,
    ).send()
    return True


@shared_task(name="dsr.purge_submissions")
def purge_submissions() -> int:
    """Hourly: forget unconfirmed submissions whose link expired. Idempotent."""
    return submissions_purge()
