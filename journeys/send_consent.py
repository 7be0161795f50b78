"""SendConsent: the consent one journey email relied on, written with its send's claim.

Kept in its own module (journeys.models re-exports it) so the models module stays small.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.levels import ConsentLevel


class SendConsent(models.Model):
    """What we held when a journey step's email (list mail included) was sent: the contact's level,
    tracking choice and the purpose answers the send needed, and the change records in force then
    (consent.held.consent_held_at, the function the contact page answers "what did we hold" with).

    Written in the transaction that claims the send (journeys.services.send_consent_record), after
    the eligibility selector allowed it. GDPR Art. 7(1): the consent relied on must be demonstrable.
    """

    # PROTECT, not CASCADE: deleting the send (its enrolment, step or journey) would take the proof
    # with it. A journey that has sent is ended, not deleted; only a claim released before its mail
    # left drops its record (journeys.services.advance._release).
    step_run = models.OneToOneField(
        "journeys.StepRun", on_delete=models.PROTECT, related_name="consent", verbose_name=_("email sent")
    )
    # SET_NULL: erasure pseudonymises the row (the records it names are pseudonymised too).
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_at = models.DateTimeField(_("consent read at"), db_index=True)
    needed_level = models.PositiveSmallIntegerField(_("level the send needed"), choices=ConsentLevel.choices)
    level = models.PositiveSmallIntegerField(_("level held"), choices=ConsentLevel.choices)
    tracking_allowed = models.BooleanField(_("tracking allowed"))
    # [{"purpose": id, "name": "Newsletter", "granted": true | false | null, "record": id | null}]
    answers = models.JSONField(_("purpose answers the send needed"), default=list, blank=True)
    # Whether the records said what the contact's consent fields said at that moment: not when
    # consent change records were switched off (ComplianceSettings.log_consent_changes) meanwhile.
    records_agree = models.BooleanField(_("records agree with the contact"), default=True)
    records = models.ManyToManyField(
        "consent.ConsentChange", related_name="+", blank=True, verbose_name=_("change records in force")
    )

    class Meta:
        verbose_name = _("consent relied on by a send")
        verbose_name_plural = _("consent relied on by sends")
        ordering = ["-held_at", "-id"]

    def __str__(self) -> str:
        return f"{self.step_run_id}: {self.level} {ConsentLevel(self.level).label}"
