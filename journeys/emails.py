"""A journey's email to one contact, from an EmailTemplate (text, with an HTML alternative)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from types import SimpleNamespace

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils.html import format_html, linebreaks
from django.utils.translation import gettext as _

from core.languages import in_language
from core.links import absolute
from core.mail import email_face, organisation_footer, with_brand_header
from journeys import placeholders
from journeys.tracking import Tracker, url_spans
from subscriptions.emails import ListEmailMessage, MarketingEmailMessage, way_out_footer, way_out_for

# What the way-out placeholders show in a preview (the real links are personal, made per email).
SAMPLE_LINKS = {
    "unsubscribe_url": "/unsubscribe/sample/",
    "preferences_url": "/preferences/sample/",
    "renew_url": "/confirm/sample/",
}


def render_template(
    template, contact, links: dict[str, str] | None = None, *, link_for: Callable[[str], str] | None = None
) -> tuple[str, str, str]:
    """Subject, text and HTML for `contact`. The text is filled in as written (only the offered
    placeholders, journeys.placeholders); the HTML escapes all of it once (placeholders included),
    so neither a name nor the template can inject markup. `links` (the way-out placeholders'
    URLs, made by the product) become links in the HTML; without them those placeholders are empty.
    The template's own links (journeys.tracking.template_links) become links in the HTML too,
    pointing where `link_for` says (a tracked redirect) or, without it, where they were written."""
    values = {"first_name": contact.first_name, "last_name": contact.last_name}
    links = links or {}
    # Each link goes in as an unguessable mark, escaped along with everything else, then becomes
    # an <a>: no name or template text can forge the mark, so none can become markup.
    marks = {name: f"link{secrets.token_hex(16)}" for name in links}
    body, own = _own_links_marked(template.body)
    subject = placeholders.fill(template.subject, {**values, **links})
    text = placeholders.fill(body, {**values, **links})
    html = linebreaks(placeholders.fill(body, {**values, **marks}), autoescape=True)
    for name, mark in marks.items():
        html = html.replace(mark, format_html('<a href="{}">{}</a>', links[name], links[name]))
    for mark, url in own.items():
        target = link_for(url) if link_for else url
        text = text.replace(mark, target)
        html = html.replace(mark, format_html('<a href="{}">{}</a>', target, url))
    return " ".join(subject.split()), text, html


def _own_links_marked(body: str) -> tuple[str, dict[str, str]]:
    """The template's text with each of its own links replaced by an unguessable mark, and the marks."""
    own, parts, at = {}, [], 0
    for start, end, url in url_spans(body):
        mark = f"url{secrets.token_hex(16)}"
        own[mark] = url
        parts += [body[at:start], mark]
        at = end
    return "".join(parts) + body[at:], own


def preview(template) -> tuple[str, str, str]:
    """The email as a sample contact would get it: what saving a template shows and checks."""
    links = {name: absolute(path) for name, path in SAMPLE_LINKS.items()}
    return render_template(template, SimpleNamespace(first_name="Ada", last_name="Lovelace"), links)


def journey_email(
    *,
    template,
    contact,
    subscription_list=None,
    forward_link: str = "",
    tracker: Tracker | None = None,
    renew_link: str = "",
) -> MarketingEmailMessage:
    """The message, not yet sent, with its way out in text and HTML: the template's own
    {{ unsubscribe_url }} and {{ preferences_url }}, and a footer with those it does not place.
    Mail for a list leaves the list (and carries its one-click unsubscribe header); mail of a
    journey without a list stops all marketing. What the product adds (footer, forward note) is in
    the contact's language; the template's own text is as written.

    `tracker` (journeys.tracking, given only for a contact whose tracking is allowed): the
    template's own links go through the click redirect and an open image is added; without it
    the links are the plain targets and there is no image. The way out is never rewritten.

    `renew_link`: what {{ renew_url }} becomes (journeys.repermission), never tracked either."""
    with in_language(contact.language):
        return _journey_email(
            template=template,
            contact=contact,
            subscription_list=subscription_list,
            forward_link=forward_link,
            tracker=tracker,
            renew_link=renew_link,
        )


def _journey_email(
    *, template, contact, subscription_list, forward_link: str, tracker: Tracker | None, renew_link: str
) -> MarketingEmailMessage:
    way_out = way_out_for(contact=contact, subscription_list=subscription_list)
    links = {"unsubscribe_url": way_out.unsubscribe_url, "preferences_url": way_out.preferences_url}
    # Without a request to confirm (nothing lapses soon any more), the center is where to renew.
    links["renew_url"] = renew_link or way_out.preferences_url
    subject, text, html = render_template(
        template, contact, links, link_for=tracker.click_url if tracker else None
    )
    if forward_link:
        note = _("Know someone who would like this? Forward it to them:")
        text += f"\n\n{note} {forward_link}\n"
        html += format_html('<p>{} <a href="{}">{}</a></p>', note, forward_link, _("forward to a friend"))
    footer_text, footer_html = way_out_footer(way_out, placed=placeholders.placed(template.body))
    text, html = (text.rstrip("\n") + footer_text if footer_text else text), html + footer_html
    html = with_brand_header(html, email_face())
    if tracker is not None:
        html += format_html(
            '<img src="{}" width="1" height="1" alt="" style="display:block;border:0">', tracker.open_url()
        )
    kwargs = {
        "subject": subject,
        "body": text,
        "from_email": settings.DEFAULT_FROM_EMAIL,
        "to": [contact.email],
    }
    if subscription_list is not None:
        message = ListEmailMessage(
            contact=contact, subscription_list=subscription_list, way_out=way_out, **kwargs
        )
    else:
        message = MarketingEmailMessage(way_out=way_out, **kwargs)
    # Through a provider (django-anymail): its open tracking only where ours may run, its click
    # tracking never (it would rewrite the way out too; our redirect counts the clicks), and the
    # send named so its reports find it (mailsignals). SMTP ignores all three.
    message.track_opens, message.track_clicks = tracker is not None, False
    if tracker is not None:
        message.metadata = {**getattr(message, "metadata", {}), "send": str(tracker.send_id)}
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
    # Who sent it, since the friend never heard of us (GDPR Art. 14: the source and the controller).
    face = email_face()
    footer_text, footer_html = organisation_footer(face)
    html = with_brand_header(html, face) + footer_html
    text = text.rstrip("\n") + footer_text if footer_text else text
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]
    )
    message.attach_alternative(html, "text/html")
    message.send()
