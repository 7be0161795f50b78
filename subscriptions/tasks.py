import smtplib

from celery import shared_task

from subscriptions.emails import send_consent_request
from subscriptions.services import consent_request_send, expired_links_purge, unconfirmed_signups_purge


@shared_task(
    name="subscriptions.send_consent_request",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    max_retries=8,
)
def send_consent_request_email(request_id: int) -> bool:
    """Send one double opt-in email; a retry or a duplicate delivery never sends it twice."""
    return consent_request_send(request_id=request_id, send=send_consent_request)


@shared_task(name="subscriptions.purge_unconfirmed")
def purge_unconfirmed() -> dict:
    """Hourly: forget sign-ups nobody confirmed, and links that expired. Idempotent."""
    return {"contacts": unconfirmed_signups_purge(), "links": expired_links_purge()}
