"""A journey's email to one contact, from an EmailTemplate (text, with an HTML alternative)."""

from __future__ import annotations

from types import SimpleNamespace

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils.html import format_html, linebreaks
from django.utils.translation import gettext as _

from core.links import absolute
from journeys import placeholders
from subscriptions.emails import ListEmailMessage


def render_template(template, contact) -> tuple[str, str, str]:
    """Subject, text and HTML for `contact`. The text is filled in as written (only the offered
    placeholders, journeys.placeholders); the HTML escapes all of it once (placeholders included),
    so neither a name nor the template can inject markup."""
    values = {"first_name": contact.first_name, "last_name": contact.last_name}
    subject = placeholders.fill(template.subject, values)
    text = placeholders.fill(template.body, values)
    return " ".join(subject.split()), text, linebreaks(text, autoescape=True)


def preview(template) -> tuple[str, str, str]:
    """The email as a sample contact would get it: what saving a template shows and checks."""
    return render_template(template, SimpleNamespace(first_name="Ada", last_name="Lovelace"))


def journey_email(
    *, template, contact, subscription_list=None, forward_link: str = ""
) -> EmailMultiAlternatives:
    """The message, not yet sent; mail for a list carries its one-click unsubscribe."""
    subject, text, html = render_template(template, contact)
    if forward_link:
        note = _("Know someone who would like this? Forward it to them:")
        text += f"\n\n{note} {forward_link}\n"
        html += format_html('<p>{} <a href="{}">{}</a></p>', note, forward_link, _("forward to a friend"))
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
    return message


def send_forwarded_email(*, template, journey, to: str) -> None:
    """The one email a friend gets: the template without anybody's name, saying why it came and
    how to sign up. No unsubscribe link: the friend is not on any list and gets nothing more."""
    nobody = SimpleNamespace(first_name="", last_name="")
    subject, text, html = render_template(template, nobody)
    intro = _(
        "Someone you know forwarded this email to you. You will not hear from us again unless you "
        "sign up yourself; we delete the record of this forward after 30 days."
    )
    signup = ""
    if journey.subscription_list_id and journey.subscription_list.public:
        signup = absolute(reverse("subscriptions:signup", args=[journey.subscription_list.slug]))
    text = f"{intro}\n{signup}\n\n{text}" if signup else f"{intro}\n\n{text}"
    html = (
        format_html("<p>{}</p>", intro)
        + (format_html('<p><a href="{}">{}</a></p>', signup, _("Sign up")) if signup else "")
        + html
    )
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]
    )
    message.attach_alternative(html, "text/html")
    message.send()
