"""Who a breach affected, and who of them may get its notice by email."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from breaches.models import Breach, BreachNotice
from consent.selectors import eligibility_conditions, eligible_contacts
from contacts.models import Contact
from core.levels import ConsentLevel

# GDPR Art. 34 is a legal obligation (Art. 6(1)(c)), not marketing: no consent level, purpose or
# unsubscribe is asked for. The eligibility rules that still apply at level None for email are
# restriction (Art. 18(2): a restricted person's data is only stored, so no email) and the bounce
# block (the address takes no mail). Erased people are no contacts any more: no query finds them.
NOTICE_CRITERIA = {"min_level": ConsentLevel.NONE, "channel": "email"}


def affected_contacts(breach: Breach) -> QuerySet[Contact]:
    """The contacts the breach's criteria describe: on the list (any status), with an answer for
    the purpose (yes or no), imported from the source, created in the period. All given must hold."""
    found = Q()
    if breach.affected_list_id:
        found &= Q(subscriptions__subscription_list_id=breach.affected_list_id)
    if breach.affected_purpose_id:
        found &= Q(purpose_consents__purpose_id=breach.affected_purpose_id)
    if breach.affected_source_id:
        found &= Q(imported_consents__source_id=breach.affected_source_id)
    if breach.affected_created_from:
        found &= Q(created_at__date__gte=breach.affected_created_from)
    if breach.affected_created_to:
        found &= Q(created_at__date__lte=breach.affected_created_to)
    if not breach.has_affected_criteria():
        return Contact.objects.none()
    # A subquery of ids: the joins above may repeat a contact; the outer query never does.
    return Contact.objects.filter(pk__in=Contact.objects.filter(found).values("pk"))


def notifiable_contacts(breach: Breach) -> QuerySet[Contact]:
    """The affected people an email may reach, through the one eligibility query."""
    return eligible_contacts(queryset=affected_contacts(breach), **NOTICE_CRITERIA).exclude(email="")


def withheld_contacts(breach: Breach) -> dict[str, QuerySet[Contact]]:
    """The affected people who get no email, by why (BreachNotice.withheld): each eligibility
    rule's failures in the rules' order, then those without an address. Each person once."""
    affected, taken, found = affected_contacts(breach), Q(), {}
    for rule, condition in eligibility_conditions(**NOTICE_CRITERIA):
        found[rule.reason.value] = affected.exclude(condition).exclude(taken)
        taken |= ~condition
    found[BreachNotice.NO_ADDRESS] = affected.filter(email="").exclude(taken)
    return found
