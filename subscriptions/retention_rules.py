"""Subscription lists as retention rules (consent.retention; discovered by consent.apps, consent
never imports subscriptions): a subscription holds consent while it is subscribed, and a lapsed one is
ended by the nightly job (consent.lapse) through the subscriptions' own write path."""

from django.utils.translation import gettext_lazy as _

from consent.lapse import register_withdrawal
from consent.models import Source
from consent.retention import RuleKind, register_kind
from contacts.models import Contact
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services.records import subscription_set

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


def _lists_withdraw(*, record, evidence: dict[int, dict], reasons: dict[int, str]) -> int:
    """A lapsed list subscription ends as an unsubscribe (source "retention"), the rule and its
    dates in the history row's reason; downstream systems hear of it as of any unsubscribe."""
    done = 0
    for contact in Contact.objects.filter(pk__in=sorted(evidence)).order_by("pk"):
        subscription_set(
            contact=contact,
            subscription_list=record,
            status=Subscription.Status.UNSUBSCRIBED,
            source=Source.RETENTION,
            reason=reasons[contact.pk],
        )
        done += 1
    return done


register_withdrawal("list", _lists_withdraw)
