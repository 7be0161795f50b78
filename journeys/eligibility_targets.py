"""What the contact page's eligibility check may ask about from this app: a journey
(discovered by consent.apps; consent never imports journeys)."""

from consent.eligibility import EligibilityTarget, register_target
from journeys.models import Journey
from journeys.selectors import journey_criteria


def _criteria(pk: int):
    found = Journey.objects.select_related("purpose", "subscription_list").filter(pk=pk).first()
    if found is None:
        return None
    return f"journey “{found.name}”", journey_criteria(found)


register_target(
    EligibilityTarget(
        "journey",
        "Journey",
        lambda: Journey.objects.order_by("name").values_list("pk", "name"),
        _criteria,
    )
)
