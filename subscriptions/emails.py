import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from consent.models import ComplianceSettings
from subscriptions.services import describe

logger = logging.getLogger(__name__)


def send_consent_request(request, link: str) -> bool:
    """Email the confirmation link. Sent at once (the link exists only in this call's memory, never
    in a queue or on disk); on failure the page says so and the person can try again."""
    context = {
        "changes": describe(request.changes),
        "link": link,
        "hours": ComplianceSettings.load().double_opt_in_expiry_hours,
    }
    message = EmailMultiAlternatives(
        subject=_("Please confirm your choices"),
        body=render_to_string("emails/consent_request.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[request.sent_to],
    )
    message.attach_alternative(render_to_string("emails/consent_request.html", context), "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError):
        logger.warning("double opt-in email for request %s could not be sent", request.pk, exc_info=True)
        return False
    return True
