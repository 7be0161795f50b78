"""The transactional outbox (DESIGN.md, events to other systems): what downstream systems must
learn, written in the same transaction as the change, and each system's delivery of it."""

import base64
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    CONSENT_CHANGED = "consent.changed", _("Consent level, purpose answer or tracking choice changed")
    SUBSCRIBED = "subscription.subscribed", _("Subscribed to a list")
    UNSUBSCRIBED = "subscription.unsubscribed", _("Unsubscribed from a list")
    RECTIFIED = "contact.rectified", _("Contact details corrected")
    RESTRICTED = "contact.restricted", _("Processing restricted")
    RESTRICTION_LIFTED = "contact.restriction_lifted", _("Restriction lifted")
    ERASED = "contact.erased", _("Contact erased")
    REQUEST_STATUS = "request.status_changed", _("Data subject request status changed")


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def all_event_types() -> list[str]:
    return list(EventType.values)


class Endpoint(models.Model):
    """A downstream system (web shop, CRM, email service) that must act on what changes here."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.CharField(
        _("address"),
        max_length=500,
        validators=[URLValidator(schemes=["https", "http"])],
        help_text=_("Where events are posted. Use https outside a test set-up."),
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        default=new_secret,
        help_text=_("The receiver verifies each event's webhook-signature with this (Standard Webhooks)."),
    )
    event_types = models.JSONField(_("events sent"), default=all_event_types)
    active = models.BooleanField(_("active"), default=True)
    confirms = models.BooleanField(
        _("confirms by callback"),
        default=False,
        help_text=_(
            "The system calls back, signed, once it has deleted, restricted or corrected its copy; until then "
            "a 2xx is not an acknowledgement of an erasure, restriction or rectification."
        ),
    )
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    pause_reason = models.CharField(_("why paused"), max_length=300, blank=True)
    # When the current run of failures began; cleared by any delivered event.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("downstream system")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        types = self.event_types
        if not isinstance(types, list) or not types or not set(types) <= set(EventType.values):
            raise ValidationError({"event_types": _("Choose one or more of the listed events.")})

    @property
    def receiving(self) -> bool:
        return self.active and self.paused_at is None


class Event(models.Model):
    """One fact a downstream system must learn. `uid` is the stable webhook-id receivers
    de-duplicate on; `subject` orders a person's events (kept after erasure, unlike `contact`)."""

    uid = models.CharField(max_length=40, unique=True)
    type = models.CharField(_("event"), max_length=40, choices=EventType.choices)
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(max_length=40, db_index=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(_("happened"), default=timezone.now)

    class Meta:
        verbose_name = _("event")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type} {self.uid}"


class Delivery(models.Model):
    """One event on its way to one endpoint: pending until the endpoint answers 2xx."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DELIVERED = "delivered", _("Delivered")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # Copied from the event so the "earlier event of this person still waiting" test is one index probe.
    subject = models.CharField(max_length=40)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last answer"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    # The receiver's signed callback: it acted on the event (deleted, restricted or corrected its copy).
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirmation = models.CharField(_("what it confirmed"), max_length=20, blank=True)
    # Added to the event's data for this receiver only: keyed hashes of an erased person's identifiers.
    data_extra = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once_per_endpoint")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["endpoint", "subject", "status", "event"], name="delivery_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint}"


class Attempt(models.Model):
    """One POST of a delivery: what the endpoint answered and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
