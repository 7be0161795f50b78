import smtplib

from celery import shared_task

from consent.services import children_come_of_age
from subscriptions import emails
from subscriptions.services import (
    center_invitation_send,
    center_link_send,
    consent_request_send,
    expired_links_purge,
)


@shared_task(
    name="subscriptions.send_consent_request",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    max_retries=8,
)
def send_consent_request(request_id: int) -> bool:
    """Send one double opt-in email; a retry or a duplicate delivery never sends it twice."""
    return consent_request_send(request_id=request_id, send=emails.send_consent_request)


@shared_task(name="subscriptions.purge_unconfirmed")
def purge_unconfirmed() -> dict:
    """Hourly: forget links that expired. Idempotent. (Sign-ups nobody confirmed are erased by
    dsr.tasks.purge_unconfirmed_signups, through the erasure.)"""
    return {"links": expired_links_purge()}


@shared_task(name="subscriptions.coming_of_age")
def coming_of_age() -> int:
    """Daily: children who reached the age of digital consent become adults (recorded) and are
    invited to confirm their own choices. A rerun finds nobody new, so nobody is invited twice."""
    grown = children_come_of_age()
    for contact in grown:
        send_center_invitation.delay(contact.pk)
    return len(grown)


@shared_task(
    name="subscriptions.send_center_invitation",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    max_retries=8,
)
def send_center_invitation(contact_id: int) -> bool:
    return center_invitation_send(contact_id=contact_id, send=emails.send_coming_of_age_invitation)


@shared_task(
    name="subscriptions.send_center_link",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    max_retries=8,
)
def send_center_link(email: str) -> int:
    """Send "email me my link": the lookup and the email happen here, after the page answered, so the
    page does the same work for every address. Returns a count, never the address (the result
    may be logged)."""
    return center_link_send(email=email)
