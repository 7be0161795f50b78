"""Messages built from templates: every email the product sends is a text body with an HTML
alternative, both from templates/emails/<template>.txt/.html."""

from contextlib import nullcontext

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from core.languages import mail_language


def templated_message(
    *, subject: str, template: str, context: dict, to: str, language: str | None = None
) -> EmailMultiAlternatives:
    """A text email with an HTML alternative, both from templates/emails/<template>.txt/.html.

    `language`: the recipient's (core.languages.mail_language); the bodies and a lazy subject are
    rendered in it. A subject formatted with % is already text: build it inside
    core.languages.in_language, as the callers do. None renders in the active language (staff mail).
    """
    with translation.override(mail_language(language)) if language else nullcontext():
        message = EmailMultiAlternatives(
            subject=str(subject),
            body=render_to_string(f"emails/{template}.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
        )
        message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return message
