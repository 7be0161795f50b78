"""RenewalRequest: the double opt-in request a re-permission email carries (journeys.repermission).

Kept in its own module (journeys.models re-exports it) so the models module stays small.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RenewalRequest(models.Model):
    """Which confirmation link a journey step's email carries as {{ renew_url }}: created with the
    step's claim, so a taken-over claim sends the same link, and nobody gets two requests for one
    email. Names nobody itself: the request and the send do (and are erased with the person)."""

    step_run = models.OneToOneField(
        "journeys.StepRun", on_delete=models.CASCADE, related_name="renewal", verbose_name=_("email sent")
    )
    consent_request = models.OneToOneField(
        "subscriptions.ConsentRequest", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("re-permission request")

    def __str__(self) -> str:
        return f"Re-permission {self.step_run_id}: request {self.consent_request_id}"
