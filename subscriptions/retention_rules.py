"""Subscription lists as retention rules (consent.retention; discovered by consent.apps, consent
never imports subscriptions): a subscription holds consent while it is subscribed."""

from django.utils.translation import gettext_lazy as _

from consent.retention import RuleKind, register_kind
from subscriptions.models import Subscription, SubscriptionList

register_kind(
    RuleKind(
        "list",
        _("Subscription list"),
        lambda: SubscriptionList.objects.order_by("name"),
        lambda ids: Subscription.objects.filter(subscription_list_id__in=ids),
        lambda ids: Subscription.objects.filter(
            subscription_list_id__in=ids, status=Subscription.Status.SUBSCRIBED
        ),
        lambda subscription_list: {"subscription_list": subscription_list},
    )
)
