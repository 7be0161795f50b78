"""Subscriptions, the subscription center and double opt-in, by sub-domain; callers import from
here (`from subscriptions.services import ...`).

links: links and headers put into emails. records: a subscription's status, the wording shown,
a request's origin (RequestMeta). center_read / center: the subscription center's reading and its
writing (one call per visit or POST). double_opt_in: requests created, sent, confirmed, renewed.
rejoin: undoing an unsubscribe (a new double opt-in). join: joining a list on another system's word (the API). opt_out: email-level opt-out. signup: public sign-up, one-click unsubscribe, center invitations.
purges: dead links, and the double opt-in evidence of erased people. way_in: "email me my link" for someone without one.
"""

from subscriptions.services.center import (
    CenterOutcome,
    center_show,
    center_submit,
    gpc_honour,
    preferences_update,
)
from subscriptions.services.center_read import (
    CenterPage,
    Waiting,
    center_page,
    current_state,
    email_masked,
    waiting_confirmations,
)
from subscriptions.services.double_opt_in import (
    Confirmation,
    ConfirmationStatus,
    Resent,
    confirmation_link,
    consent_request_confirm,
    consent_request_create,
    consent_request_renew,
    consent_request_resend,
    consent_request_send,
    describe,
    implied_by_lists,
)
from subscriptions.services.join import list_join
from subscriptions.services.links import center_link, list_email_headers, unsubscribe_link
from subscriptions.services.opt_out import email_level_opt_out
from subscriptions.services.purges import consent_requests_pseudonymise, expired_links_purge
from subscriptions.services.records import RequestMeta, Status, subscription_set, wording_current
from subscriptions.services.rejoin import Rejoin, Rejoined, center_rejoin, list_rejoin
from subscriptions.services.signup import center_invitation_send, signup, unsubscribe
from subscriptions.services.way_in import center_link_request, center_link_send

__all__ = [
    "CenterOutcome",
    "CenterPage",
    "Confirmation",
    "ConfirmationStatus",
    "Rejoin",
    "Rejoined",
    "RequestMeta",
    "Resent",
    "Status",
    "Waiting",
    "center_invitation_send",
    "center_link",
    "center_link_request",
    "center_link_send",
    "center_page",
    "center_rejoin",
    "center_show",
    "center_submit",
    "confirmation_link",
    "consent_request_confirm",
    "consent_request_create",
    "consent_request_renew",
    "consent_request_resend",
    "consent_request_send",
    "consent_requests_pseudonymise",
    "current_state",
    "describe",
    "email_level_opt_out",
    "email_masked",
    "expired_links_purge",
    "gpc_honour",
    "implied_by_lists",
    "list_email_headers",
    "list_join",
    "list_rejoin",
    "preferences_update",
    "signup",
    "subscription_set",
    "unsubscribe",
    "unsubscribe_link",
    "waiting_confirmations",
    "wording_current",
]
