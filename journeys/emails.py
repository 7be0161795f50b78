"""A journey's email to one contact, from an EmailTemplate (text, with an HTML alternative)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context, Template
from django.utils.html import linebreaks

from subscriptions.emails import ListEmailMessage


def render_template(template, contact) -> tuple[str, str, str]:
    """Subject, text and HTML for `contact`. The text is rendered as written; the HTML escapes all
    of it once (placeholders included), so neither a name nor the template can inject markup."""
    context = {"first_name": contact.first_name, "last_name": contact.last_name}
    subject = Template(template.subject).render(Context(context, autoescape=False))
    text = Template(template.body).render(Context(context, autoescape=False))
    return " ".join(subject.split()), text, linebreaks(text, autoescape=True)


def send_journey_email(*, template, contact, subscription_list=None) -> None:
    """Send over the configured backend; mail for a list carries its one-click unsubscribe."""
    subject, text, html = render_template(template, contact)
    kwargs = {
        "subject": subject,
        "body": text,
        "from_email": settings.DEFAULT_FROM_EMAIL,
        "to": [contact.email],
    }
    if subscription_list is not None:
        message = ListEmailMessage(contact=contact, subscription_list=subscription_list, **kwargs)
    else:
        message = EmailMultiAlternatives(**kwargs)
    message.attach_alternative(html, "text/html")
    message.send()
