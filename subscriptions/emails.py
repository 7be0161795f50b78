"""The emails of the subscriptions: double opt-in, coming of age, and every marketing or list
email's way out (visible unsubscribe and preferences links, checked before anything leaves)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.translation import gettext as _

from core.languages import in_language
from core.mail import templated_message
from core.models import ComplianceSettings
from subscriptions.services import center_link, describe, list_email_headers, unsubscribe_link
from subscriptions.services.links import leave_link


def send_consent_request(request, link: str) -> None:
    """The double opt-in email: what confirming does, in plain words, and the link; in the
    language of whoever confirms (the contact, or a child's guardian)."""
    reader = request.contact.guardian if request.on_behalf_of_child else request.contact
    with in_language(getattr(reader, "language", ""), request.contact.language):
        _consent_request_message(request, link).send()


def _consent_request_message(request, link: str):
    context = {
        "changes": describe(request.changes),
        "link": link,
        "hours": ComplianceSettings.load().double_opt_in_expiry_hours,
        "for_child": request.on_behalf_of_child,
        "child": request.contact if request.on_behalf_of_child else None,
    }
    return templated_message(
        subject=_("Please confirm your choices"),
        template="consent_request",
        context=context,
        to=request.sent_to,
    )


def send_coming_of_age_invitation(contact, link: str) -> None:
    """A child became an adult: their choices are now theirs to make."""
    context = {"contact": contact, "link": link, "age": ComplianceSettings.load().age_of_consent}
    with in_language(contact.language):
        templated_message(
            subject=_("Your privacy choices are now yours"),
            template="came_of_age",
            context=context,
            to=contact.email,
        ).send()


class NoWayOut(Exception):
    """A marketing or list email whose bodies lack its unsubscribe or preferences link: not sent."""


@dataclass(frozen=True)
class WayOut:
    """The personal links a marketing email must show: leave (the list, or with no list all
    marketing) and manage preferences (the subscription center)."""

    unsubscribe_url: str
    preferences_url: str
    list_name: str = ""  # empty: no list, so the unsubscribe link stops all marketing

    @property
    def leaves_everything(self) -> bool:
        return not self.list_name


def way_out_for(*, contact, subscription_list=None) -> WayOut:
    """Fresh personal links for one email to `contact` (Dynamics 365 and listmonk give the same)."""
    preferences = center_link(contact=contact)
    if subscription_list is None:
        return WayOut(leave_link(contact=contact), preferences)
    unsubscribe = unsubscribe_link(contact=contact, subscription_list=subscription_list)
    return WayOut(unsubscribe, preferences, list_name=subscription_list.shown_name)


def way_out_footer(way_out: WayOut, *, placed: set[str] = frozenset()) -> tuple[str, str]:
    """The footer (text, HTML) showing the links the email's own text did not place."""
    context = {
        "unsubscribe_url": "" if "unsubscribe_url" in placed else way_out.unsubscribe_url,
        "preferences_url": "" if "preferences_url" in placed else way_out.preferences_url,
        "leaves_everything": way_out.leaves_everything,
        "list_name": way_out.list_name,
        # Who sends it (GDPR Art. 13(1)(a); the postal address CAN-SPAM asks of commercial email).
        "organisation": ComplianceSettings.load().organisation(),
    }
    if not (context["unsubscribe_url"] or context["preferences_url"] or context["organisation"]):
        return "", ""
    text = render_to_string("emails/_way_out.txt", context).strip()
    return f"\n\n{text}\n", render_to_string("emails/_way_out.html", context)


def way_out_missing(message: EmailMultiAlternatives) -> str:
    """Why `message` may not leave ("" when it may): both its text and its HTML body must show
    its unsubscribe and preferences links (a link in the HTML, not just its text)."""
    way_out = getattr(message, "way_out", None)
    if way_out is None:
        return "no way out was made for this message"
    html = "".join(str(content) for content, mimetype in message.alternatives if mimetype == "text/html")
    for name, url in (("unsubscribe", way_out.unsubscribe_url), ("preferences", way_out.preferences_url)):
        if not url or url not in message.body:
            return f"the text body lacks the {name} link"
        if f'href="{escape(url)}"' not in html:
            return f"the HTML body lacks the {name} link"
    return ""


class MarketingEmailMessage(EmailMultiAlternatives):
    """A marketing email: it refuses to become a message (so to be sent) without its way out."""

    def __init__(self, *args, way_out: WayOut, **kwargs):
        super().__init__(*args, **kwargs)
        self.way_out = way_out

    def message(self):
        problem = way_out_missing(self)
        if problem:
            raise NoWayOut(problem)
        return super().message()


class ListEmailMessage(MarketingEmailMessage):
    """An email to a subscription list's member, with working one-click unsubscribe.

    Django 5.2 builds messages with the compat32 policy, which turns a header longer than 78
    characters with no space in it (our List-Unsubscribe URL) into RFC 2047 encoded-words that
    mail clients do not parse as a URL. RFC 5322 allows lines up to 998 characters, so this
    message lets such a header stand on one line.
    """

    def __init__(self, *args, contact, subscription_list, way_out: WayOut | None = None, **kwargs):
        way_out = way_out or way_out_for(contact=contact, subscription_list=subscription_list)
        headers = {
            **kwargs.pop("headers", {}),
            **list_email_headers(
                contact=contact, subscription_list=subscription_list, unsubscribe_url=way_out.unsubscribe_url
            ),
        }
        super().__init__(*args, headers=headers, way_out=way_out, **kwargs)
        # Sent through a provider (django-anymail), its bounce, complaint and unsubscribe reports
        # carry this back, so they act on this list (mailsignals.services). SMTP ignores it.
        self.metadata = {"list": subscription_list.slug}

    def message(self):
        msg = super().message()
        msg.policy = msg.policy.clone(max_line_length=998)
        return msg
