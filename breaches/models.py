"""The breach register (GDPR Art. 33(5)): every personal data breach, its facts, its effects and
the remedial action taken, whether notified or not; and the notice each affected person got
(Art. 34)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.eligibility import Ineligibility
from core.history import AuditedHistory

# GDPR Art. 33(1): the authority is told "without undue delay and, where feasible, not later than
# 72 hours after having become aware of it"; later, with the reasons for the delay.
AUTHORITY_DEADLINE = timedelta(hours=72)


class Breach(models.Model):
    class Risk(models.TextChoices):
        # Art. 33(1): no notification when "unlikely to result in a risk"; Art. 34(1): people are
        # told when the risk is high.
        UNLIKELY = "unlikely", _("Unlikely to result in a risk (documented only)")
        RISK = "risk", _("A risk to people's rights and freedoms (notify the authority)")
        HIGH = "high", _("A high risk (notify the authority and the people)")

    summary = models.CharField(_("summary"), max_length=200, help_text=_("A short title for the register."))
    discovered_at = models.DateTimeField(
        _("discovered"), help_text=_("When the organisation became aware of it: the 72 hours run from here.")
    )
    occurred_at = models.DateTimeField(_("occurred"), null=True, blank=True, help_text=_("If known."))
    nature = models.TextField(
        _("nature of the breach"), help_text=_("What happened: confidentiality, integrity or availability.")
    )
    people_categories = models.TextField(_("categories of people concerned"))
    people_count = models.PositiveIntegerField(_("people concerned (approximately)"))
    data_categories = models.TextField(_("categories of personal data concerned"))
    records_count = models.PositiveIntegerField(_("records concerned (approximately)"))
    consequences = models.TextField(_("likely consequences"))
    measures = models.TextField(
        _("measures taken or proposed"), help_text=_("Including those to mitigate possible adverse effects.")
    )
    dpo_contact = models.CharField(
        _("contact point (data protection officer)"),
        max_length=300,
        help_text=_("Filled in from the compliance settings for a new breach."),
    )
    risk = models.CharField(_("risk"), max_length=10, choices=Risk.choices, default=Risk.RISK)
    authority_notified_at = models.DateTimeField(_("authority notified"), null=True, blank=True)
    authority_reference = models.CharField(
        _("authority's reference"),
        max_length=100,
        blank=True,
        help_text=_("The case number it gave, if any."),
    )
    delay_reasons = models.TextField(
        _("reasons for the delay"),
        blank=True,
        help_text=_("Required when the authority is notified more than 72 hours after discovery."),
    )
    people_notice = models.TextField(
        _("words for the people affected"),
        blank=True,
        help_text=_(
            "The nature of the breach in clear and plain language (Art. 34(2)); the email adds the "
            "likely consequences, the measures and the contact point."
        ),
    )
    people_notified_at = models.DateTimeField(_("people notified"), null=True, blank=True)

    # Who was affected: the query the notice goes to (breaches.selectors.affected_contacts). Every
    # criterion given must hold; at least one is needed before anyone is notified.
    affected_list = models.ForeignKey(
        "subscriptions.SubscriptionList",
        verbose_name=_("affected: on the list"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    affected_purpose = models.ForeignKey(
        "consent.Purpose",
        verbose_name=_("affected: answered the purpose"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    affected_source = models.ForeignKey(
        "imports.ImportSource",
        verbose_name=_("affected: imported from"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    affected_created_from = models.DateField(_("affected: created on or after"), null=True, blank=True)
    affected_created_to = models.DateField(_("affected: created on or before"), null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bookkeeping of the officers' reminders (breaches.reminders): each sent once.
    reminded_soon_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_late_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = AuditedHistory("breaches", excluded_fields=["reminded_soon_at", "reminded_late_at"])

    class Meta:
        verbose_name = _("breach")
        verbose_name_plural = _("breaches")
        ordering = ["-discovered_at", "-id"]
        indexes = [models.Index(fields=["authority_notified_at", "discovered_at"], name="breach_clock_idx")]

    def __str__(self) -> str:
        return f"{self.reference}: {self.summary}"

    @property
    def reference(self) -> str:
        return f"BR-{self.pk or 0:04d}"

    @property
    def authority_due_at(self):
        return self.discovered_at + AUTHORITY_DEADLINE if self.discovered_at else None

    def clean(self) -> None:
        errors = {}
        now = timezone.now()
        if self.discovered_at and self.discovered_at > now:
            errors["discovered_at"] = _("Discovery cannot be in the future.")
        if self.occurred_at and self.discovered_at and self.occurred_at > self.discovered_at:
            errors["occurred_at"] = _("A breach cannot occur after it was discovered.")
        for name in ("authority_notified_at", "people_notified_at"):
            when = getattr(self, name)
            if when and self.discovered_at and when < self.discovered_at:
                errors[name] = _("Notification cannot come before discovery.")
            elif when and when > now:
                errors[name] = _("Notification cannot be in the future.")
        late = (
            self.authority_notified_at
            and self.discovered_at
            and self.authority_notified_at > self.authority_due_at
        )
        if late and not self.delay_reasons.strip():
            errors["delay_reasons"] = _(
                "The authority is notified more than 72 hours after discovery: give the reasons for "
                "the delay (GDPR Art. 33(1))."
            )
        start, end = self.affected_created_from, self.affected_created_to
        if start and end and start > end:
            errors["affected_created_to"] = _("The period ends before it starts.")
        if errors:
            raise ValidationError(errors)

    def has_affected_criteria(self) -> bool:
        return any(
            value is not None
            for value in (
                self.affected_list_id,
                self.affected_purpose_id,
                self.affected_source_id,
                self.affected_created_from,
                self.affected_created_to,
            )
        )


class BreachNotice(models.Model):
    """The notice to one affected person (Art. 34): sent once (core.send_once), or withheld and why."""

    # Why a person got no email: an eligibility rule's code (consent.eligibility.Ineligibility:
    # restriction, a bounce block), or no address at all. The officer tells them another way.
    NO_ADDRESS = "no_address"
    WITHHELD_CHOICES = [*Ineligibility.choices, (NO_ADDRESS, _("No email address"))]

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="notices")
    # SET_NULL: erasure keeps the row (proof the notice went out) without the person.
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="breach_notices"
    )
    email = models.EmailField(_("sent to"), blank=True)
    withheld = models.CharField(_("withheld"), max_length=32, choices=WITHHELD_CHOICES, blank=True)
    created_at = models.DateTimeField(_("chosen"), auto_now_add=True)
    send_claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("breach notice")
        ordering = ["breach", "id"]
        constraints = [
            # One notice per person per breach, however often the notification is started.
            models.UniqueConstraint(fields=["breach", "contact"], name="breachnotice_one_per_contact")
        ]

    def __str__(self) -> str:
        return f"{self.breach.reference} notice #{self.pk}"
