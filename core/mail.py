"""Messages built from templates: every email the product sends is a text body with an HTML
alternative, both from templates/emails/<template>.txt/.html."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def templated_message(*, subject: str, template: str, context: dict, to: str) -> EmailMultiAlternatives:
    """A text email with an HTML alternative, both from templates/emails/<template>.txt/.html."""
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return message
