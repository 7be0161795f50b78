from core.registry import Erasure, register
from subscriptions.models import AccessToken, ConsentRequest, Subscription

register(
    Subscription,
    fields=["subscription_list", "status", "changed_at"],
    contact_path="contact",
    erasure=Erasure.DELETE,
)
register(AccessToken, fields=["digest", "expires_at"], contact_path="contact", erasure=Erasure.DELETE)
# The consent change records keep what was confirmed (pseudonymised on erasure); the request goes.
register(
    ConsentRequest,
    fields=["changes", "request_ip", "request_user_agent", "sent_to", "confirm_ip", "confirm_user_agent"],
    contact_path="contact",
    erasure=Erasure.DELETE,
)
