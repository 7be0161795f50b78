from django.core.mail import EmailMultiAlternatives
from django.utils.translation import gettext as _

from core.mail import templated_message
from core.models import ComplianceSettings
from subscriptions.services import describe, list_email_headers


def send_consent_request(request, link: str) -> None:
    """The double opt-in email: what confirming does, in plain words, and the link."""
    context = {
        "changes": describe(request.changes),
        "link": link,
        "hours": ComplianceSettings.load().double_opt_in_expiry_hours,
        "for_child": request.on_behalf_of_child,
        "child": request.contact if request.on_behalf_of_child else None,
    }
    templated_message(
        subject=_("Please confirm your choices"),
        template="consent_request",
        context=context,
        to=request.sent_to,
    ).send()


def send_coming_of_age_invitation(contact, link: str) -> None:
    """A child became an adult: their choices are now theirs to make."""
    context = {"contact": contact, "link": link, "age": ComplianceSettings.load().age_of_consent}
    templated_message(
        subject=_("Your privacy choices are now yours"),
        template="came_of_age",
        context=context,
        to=contact.email,
    ).send()


class ListEmailMessage(EmailMultiAlternatives):
    """An email to a subscription list's member, with working one-click unsubscribe.

    Django 5.2 builds messages with the compat32 policy, which turns a header longer than 78
    characters with no space in it (our List-Unsubscribe URL) into RFC 2047 encoded-words that
    mail clients do not parse as a URL. RFC 5322 allows lines up to 998 characters, so this
    message lets such a header stand on one line.
    """

    def __init__(self, *args, contact, subscription_list, **kwargs):
        headers = {
            **kwargs.pop("headers", {}),
            **list_email_headers(contact=contact, subscription_list=subscription_list),
        }
        super().__init__(*args, headers=headers, **kwargs)

    def message(self):
        msg = super().message()
        msg.policy = msg.policy.clone(max_line_length=998)
        return msg
