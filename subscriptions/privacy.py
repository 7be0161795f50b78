from django.utils.translation import gettext_noop

from core.registry import Erasure, register
from subscriptions.models import AccessToken, ConsentRequest, Subscription
from subscriptions.services import consent_requests_pseudonymise

register(
    Subscription,
    fields=["subscription_list", "status", "changed_at"],
    contact_path="contact",
    erasure=Erasure.DELETE,
)
register(AccessToken, fields=["digest", "expires_at"], contact_path="contact", erasure=Erasure.DELETE)
# Double opt-in evidence: a confirmed request is proof of consent like the change records it led
# to, so erasure keeps it pseudonymised (subscriptions.services.consent_requests_pseudonymise); an
# unconfirmed one goes.
register(
    ConsentRequest,
    fields=[
        "contact",
        "changes",
        "request_ip",
        "request_user_agent",
        "sent_to",
        "confirm_ip",
        "confirm_user_agent",
    ],
    contact_path="contact",
    erasure=Erasure.ANONYMISE,
    legal_hold=gettext_noop(
        "Proof of a double opt-in confirmation (GDPR Art. 7(1)), kept without whom it was about."
    ),
    kept_until=gettext_noop("as long as consent given or withdrawn must be demonstrable (limitation period)"),
    anonymise=consent_requests_pseudonymise,
)
