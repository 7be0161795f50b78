"""What the email provider told us (through django-anymail's normalised tracking webhooks), kept
once per provider event: the key that makes a redelivered webhook change nothing twice."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MailSignal(models.Model):
    class Kind(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("Hard bounce")
        SOFT_BOUNCE = "soft_bounce", _("Soft bounce")
        COMPLAINT = "complaint", _("Spam complaint")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribe at the provider")

    esp = models.CharField(_("provider"), max_length=40)
    event_id = models.CharField(_("provider's event id"), max_length=200)
    kind = models.CharField(_("signal"), max_length=16, choices=Kind.choices)
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subscription_list = models.ForeignKey(
        "subscriptions.SubscriptionList", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("mail signal")
        constraints = [models.UniqueConstraint(fields=["esp", "event_id"], name="mailsignal_once_per_event")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.esp})"
