import smtplib

from celery import shared_task
from django.db import DatabaseError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.languages import in_language
from core.mail import templated_message
from dsr.agents import agent_confirmation_send
from dsr.assignee_mail import assignment_send
from dsr.bundles import bundle_build, bundle_link, bundles_purge, bundles_resume_stale
from dsr.intake import submission_send, submissions_purge
from dsr.models import DataSubjectRequest, ExportBundle
from dsr.reminders import deadline_reminders
from dsr.residue_queue import residue_scans_run
from dsr.status_links import status_link_url, status_links_purge
from dsr.unconfirmed import unconfirmed_signups_purge

MAIL_RETRY = {"autoretry_for": (smtplib.SMTPException, OSError), "retry_backoff": 30, "max_retries": 8}


@shared_task(name="dsr.remind_deadlines")
def remind_deadlines() -> int:
    """Daily: mark overdue requests and remind assignees. Idempotent within a day."""
    return deadline_reminders()


def _send_link(submission, link: str) -> None:
    with in_language(submission.language):  # the language the request was typed in
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


def _send_agent_question(authority, link: str) -> None:
    request = authority.request
    with in_language(*request.person_languages()):
        templated_message(
            subject=_("Did you ask someone to make a request about your data for you?"),
            template="dsr_agent_confirm",
            context={"authority": authority, "request": request, "link": link},
            to=request.requester_email,
        ).send()


@shared_task(name="dsr.send_agent_confirmation", **MAIL_RETRY)
def send_agent_confirmation(authority_id: int) -> bool:
    """Ask the person whether the agent who made a request for them acts for them; sent at most once."""
    return agent_confirmation_send(authority_id=authority_id, send=_send_agent_question)


def _mail_requester(request_id: int, *, subject: str, template: str) -> bool:
    """Email the requester of a request; the address is read here, never carried by the broker."""
    request = DataSubjectRequest.objects.filter(pk=request_id).first()
    if request is None or not request.requester_email:
        return False
    with in_language(*request.person_languages()):
        templated_message(
            subject=str(subject) % {"ref": request.reference},
            template=template,
            context={"request": request, "status_url": status_link_url(request=request)},
            to=request.requester_email,
        ).send()
    return True


@shared_task(name="dsr.send_acknowledgement", **MAIL_RETRY)
def send_acknowledgement(request_id: int) -> bool:
    """Tell the requester their request is in the queue, with its reference and deadline."""
    return _mail_requester(
        request_id, subject=gettext_lazy("%(ref)s: we have your request"), template="dsr_acknowledgement"
    )


@shared_task(name="dsr.send_extension_notice", **MAIL_RETRY)
def send_extension_notice(request_id: int) -> bool:
    """Tell the requester the new deadline and why (GDPR Art. 12(3))."""
    return _mail_requester(
        request_id, subject=gettext_lazy("%(ref)s: we need more time"), template="dsr_extension"
    )


@shared_task(name="dsr.send_assignment_notice", **MAIL_RETRY)
def send_assignment_notice(request_id: int, assignee_id: int) -> bool:
    """Tell a member of staff a request is now theirs: what the requester wrote, whom it is about."""
    return assignment_send(request_id=request_id, assignee_id=assignee_id)


@shared_task(name="dsr.purge_submissions")
def purge_submissions() -> dict:
    """Hourly: forget unconfirmed submissions whose link expired, export files and status links
    past their use."""
    return {
        "submissions": submissions_purge(),
        "bundle_files": bundles_purge(),
        "status_links": status_links_purge(),
    }


@shared_task(
    name="dsr.build_bundle",
    acks_late=True,
    autoretry_for=(DatabaseError,),  # the database went away mid-build: try again, from the start
    retry_backoff=10,
    max_retries=6,
)
def build_bundle(bundle_id: int) -> bool:
    """Collect a person's data for review; a redelivered or resumed task rebuilds cleanly."""
    return bundle_build(bundle_id=bundle_id)


@shared_task(name="dsr.resume_stale_bundles")
def resume_stale_bundles() -> int:
    """Every few minutes: restart builds whose worker died or whose message was lost."""
    return bundles_resume_stale()


@shared_task(name="dsr.send_bundle_link", **MAIL_RETRY)
def send_bundle_link(bundle_id: int) -> bool:
    bundle = ExportBundle.objects.select_related("request").filter(pk=bundle_id).first()
    if bundle is None or not bundle.request.requester_email or not bundle.link_nonce:
        return False
    with in_language(*bundle.request.person_languages()):
        templated_message(
            subject=_("%(ref)s: your data is ready") % {"ref": bundle.request.reference},
            template="dsr_bundle_ready",
            context={
                "bundle": bundle,
                "link": bundle_link(bundle),
                "max": 5,
                "status_url": status_link_url(request=bundle.request),
            },
            to=bundle.request.requester_email,
        ).send()
    return True


@shared_task(name="dsr.purge_unconfirmed_signups")
def purge_unconfirmed_signups() -> dict:
    """Daily: erase what sign-ups nobody confirmed left (dsr.unconfirmed). Idempotent."""
    return unconfirmed_signups_purge()


@shared_task(name="dsr.run_residue_scans")
def run_residue_scans() -> int:
    """After each erasure, and every few minutes from beat: the residue scans waiting, in batches
    sharing one pass over every table (dsr.residue_queue). Safe to run twice at once."""
    return residue_scans_run()
