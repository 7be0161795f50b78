"""What the contact page's eligibility check may ask about from this app: a subscription list
(discovered by consent.apps; consent never imports subscriptions)."""

from consent.eligibility import EligibilityTarget, register_target
from subscriptions.models import SubscriptionList


def list_criteria(subscription_list: SubscriptionList) -> dict:
    """A list's mail needs the list's minimum level, a yes to the purpose it needs, no
    unsubscribe from it and an address that takes mail."""
    return {
        "min_level": subscription_list.min_level,
        "purpose": subscription_list.purpose if subscription_list.purpose_id else None,
        "subscription_list": subscription_list,
        "channel": "email",
    }


def _criteria(pk: int):
    found = SubscriptionList.objects.select_related("purpose").filter(pk=pk).first()
    if found is None:
        return None
    return f"list “{found.name}”", list_criteria(found)


register_target(
    EligibilityTarget(
        "list",
        "Subscription list",
        lambda: SubscriptionList.objects.order_by("name").values_list("pk", "name"),
        _criteria,
    )
)
