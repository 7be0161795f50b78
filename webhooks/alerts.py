"""Telling privacy officers that a downstream system stopped taking events."""

from django.urls import reverse
from django.utils.translation import gettext as _

from core.links import absolute
from core.mail import templated_message
from staff.roles import privacy_officers
from webhooks.models import Delivery, Endpoint


def endpoint_paused_alert(endpoint_id: int) -> int:
    """Email every privacy officer that the endpoint was paused and how much waits. Returns emails sent."""
    endpoint = Endpoint.objects.get(pk=endpoint_id)
    context = {
        "endpoint": endpoint,
        "waiting": Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).count(),
        "url": absolute(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])),
    }
    officers = privacy_officers()
    for officer in officers:
        templated_message(
            subject=_("Downstream system %(name)s paused: its events are waiting") % {"name": endpoint.name},
            template="endpoint_paused",
            context={**context, "person": officer},
            to=officer.email,
        ).send()
    return len(officers)
