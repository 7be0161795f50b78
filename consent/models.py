from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from consent.opt_outs import OptOut
from core.history import AuditedHistory
from core.levels import ConsentLevel, level_label
from core.translations import Translated, translations_field


class Source(models.TextChoices):
    ADMIN = "admin", _("Admin")
    SUBSCRIPTION_CENTER = "subscription_center", _("Subscription center")
    DOUBLE_OPT_IN = "double_opt_in", _("Double opt-in")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    JOURNEY = "journey", _("Journey")
    SYSTEM = "system", _("System")
    COMPLAINT = "complaint", _("Spam complaint reported by the email provider")
    PROVIDER = "email_provider", _("Unsubscribe reported by the email provider")
    RETENTION = "retention", _("Retention (consent lapsed)")


# Sources through which the person themselves answers: their consent given or confirmed there is a
# real action of theirs (contacts.activity). An officer's entry, a journey, the system and the
# email provider's reports are not.
PERSON_SOURCES = frozenset({Source.SUBSCRIPTION_CENTER, Source.DOUBLE_OPT_IN, Source.API, Source.IMPORT})


class ConsentField(models.TextChoices):
    CONSENT_GIVEN = "consent_given", _("Consent given")
    TRACKING = "tracking_allowed", _("Tracking")
    PURPOSE = "purpose", _("Purpose consent")
    IS_CHILD = "is_child", _("Is a child")


class LegalBasis(models.TextChoices):
    CONSENT = "consent", _("Consent (Art. 6(1)(a))")
    CONTRACT = "contract", _("Contract (Art. 6(1)(b))")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation (Art. 6(1)(c))")
    VITAL_INTERESTS = "vital_interests", _("Vital interests (Art. 6(1)(d))")
    PUBLIC_TASK = "public_task", _("Public task (Art. 6(1)(e))")
    LEGITIMATE_INTERESTS = "legitimate_interests", _("Legitimate interests (Art. 6(1)(f))")


class RetentionClock(models.TextChoices):
    ANSWER = "answer", _("the date of the answer")
    LAST_ACTION = "last_action", _("the person's last action")


# Bases that can keep data once consent has ended (GDPR Art. 17(3)): not consent itself.
HOLD_BASES = [(value, label) for value, label in LegalBasis.choices if value != LegalBasis.CONSENT]
_MONTHS = [MinValueValidator(1), MaxValueValidator(1200)]
# The retention rules as the admin shows them, for purposes and lists alike.
RETENTION_FIELDS = [
    "consent_validity_months",
    "validity_clock",
    "inactivity_months",
    "hold_basis",
    "hold_months",
]
# The record of processing as the admin shows it (GDPR Art. 30(1)(b)-(g)), for purposes and lists.
RECORD_FIELDS = [
    "legal_basis",
    "data_subject_categories",
    "data_categories",
    "recipients",
    "transfer_countries",
    "transfer_safeguard",
    "security_measures",
    "retention",
]


class TransferSafeguard(models.TextChoices):
    """How a transfer of personal data outside the EU/EEA is made lawful (GDPR Chapter V)."""

    NONE = "none", _("No transfer to a third country")
    ADEQUACY = "adequacy", _("Adequacy decision (Art. 45)")
    SCC = "scc", _("Standard contractual clauses (Art. 46(2)(c))")
    BCR = "bcr", _("Binding corporate rules (Art. 47)")
    CODE_OF_CONDUCT = "code_of_conduct", _("Approved code of conduct (Art. 46(2)(e))")
    CERTIFICATION = "certification", _("Approved certification (Art. 46(2)(f))")
    AUTHORISED_CLAUSES = (
        "authorised_clauses",
        _("Clauses authorised by the supervisory authority (Art. 46(3)(a))"),
    )
    DEROGATION = "derogation", _("Derogation for a specific situation (Art. 49)")


class ProcessingRecord(models.Model):
    """What GDPR Art. 30(1) asks to be documented about a processing activity, with its retention
    as data (Art. 5(1)(e)) that consent.retention computes with."""

    legal_basis = models.CharField(
        _("legal basis"), max_length=32, choices=LegalBasis.choices, default=LegalBasis.CONSENT
    )
    data_categories = models.TextField(
        _("categories of personal data"), blank=True, help_text=_("e.g. name, email address, opened emails")
    )
    # The free text of earlier versions, kept as written; the fields below are what counts.
    retention = models.CharField(
        _("retention notes"),
        max_length=200,
        blank=True,
        help_text=_("Free text for the record, e.g. the reason for the periods below."),
    )
    consent_validity_months = models.PositiveSmallIntegerField(
        _("consent valid for (months)"),
        null=True,
        blank=True,
        validators=_MONTHS,
        help_text=_("Consent lapses this long after the date below unless renewed. Empty: until withdrawn."),
    )
    validity_clock = models.CharField(
        _("counted from"), max_length=16, choices=RetentionClock.choices, default=RetentionClock.LAST_ACTION
    )
    inactivity_months = models.PositiveSmallIntegerField(
        _("erase inactive contacts after (months)"),
        null=True,
        blank=True,
        validators=_MONTHS,
        help_text=_(
            "A contact with no consent, list or reason left is erased this long after their last "
            "action. Empty: never erased for inactivity."
        ),
    )
    hold_basis = models.CharField(
        _("legal basis for keeping longer"),
        max_length=32,
        choices=HOLD_BASES,
        blank=True,
        help_text=_("e.g. legal obligation: invoices of customers are kept for tax law."),
    )
    hold_months = models.PositiveSmallIntegerField(
        _("kept on that basis for (months)"),
        null=True,
        blank=True,
        validators=_MONTHS,
        help_text=_("Counted from the person's last action."),
    )
    recipients = models.TextField(
        _("recipients"), blank=True, help_text=_("e.g. our email service provider (processor), in the EU")
    )
    # The rest of Art. 30(1): (c) whose data, (e) transfers and their safeguards, (g) security.
    data_subject_categories = models.TextField(
        _("categories of data subjects"), blank=True, help_text=_("e.g. customers, newsletter subscribers")
    )
    transfer_countries = models.TextField(
        _("transfers to third countries"),
        blank=True,
        help_text=_(
            "Each country outside the EU/EEA the data goes to, and to whom, e.g. USA: our CRM provider."
        ),
    )
    transfer_safeguard = models.CharField(
        _("safeguard for the transfers"),
        max_length=32,
        choices=TransferSafeguard.choices,
        blank=True,
        help_text=_("Empty: not yet recorded."),
    )
    security_measures = models.TextField(
        _("technical and organisational security measures"),
        blank=True,
        help_text=_("e.g. encryption in transit and at rest, access by role, two-factor sign-in, backups"),
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        transfers = bool(self.transfer_countries.strip())
        if transfers and self.transfer_safeguard in ("", TransferSafeguard.NONE):
            raise ValidationError(
                {
                    "transfer_safeguard": _(
                        "Name the safeguard that makes the transfers to these countries lawful."
                    )
                }
            )
        if not transfers and self.transfer_safeguard not in ("", TransferSafeguard.NONE):
            raise ValidationError(
                {"transfer_countries": _("Name the countries the data goes to under this safeguard.")}
            )
        if bool(self.hold_basis) != (self.hold_months is not None):
            raise ValidationError(
                {"hold_months": _("Give both the legal basis for keeping longer and its period, or neither.")}
            )

    def keep_months(self) -> int | None:
        """How long after the last action a contact of this record may stay with nothing left:
        the inactivity period, or the legal basis's period when longer; None: no limit set."""
        if self.inactivity_months is None:
            return None
        return max(self.inactivity_months, self.hold_months or 0)

    def retention_words(self) -> list[str]:
        """The retention rules as sentences for the Art. 30 record, in the active language."""
        clock = RetentionClock(self.validity_clock).label
        if self.consent_validity_months is None:
            words = [gettext("Consent is valid until it is withdrawn.")]
        else:
            n = self.consent_validity_months
            words = [
                ngettext(
                    "Consent lapses %(n)s month after %(clock)s unless it is renewed.",
                    "Consent lapses %(n)s months after %(clock)s unless it is renewed.",
                    n,
                )
                % {"n": n, "clock": clock}
            ]
        if self.inactivity_months is None:
            words.append(gettext("Contacts are not erased for inactivity."))
        else:
            n = self.inactivity_months
            words.append(
                ngettext(
                    "A contact with nothing left is erased %(n)s month after their last action.",
                    "A contact with nothing left is erased %(n)s months after their last action.",
                    n,
                )
                % {"n": n}
            )
        if self.hold_basis and self.hold_months:
            n = self.hold_months
            words.append(
                ngettext(
                    "On the basis of %(basis)s, data is kept %(n)s month after the last action.",
                    "On the basis of %(basis)s, data is kept %(n)s months after the last action.",
                    n,
                )
                % {"basis": LegalBasis(self.hold_basis).label, "n": n}
            )
        if self.retention.strip():
            words.append(gettext("Notes: %(notes)s") % {"notes": self.retention.strip()})
        return words


class Purpose(Translated, ProcessingRecord):
    """A consent option such as "Newsletter", answered yes or no per contact."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("key"), max_length=100, unique=True)
    description = models.TextField(_("wording shown to the contact"), blank=True)
    translations = translations_field()
    active = models.BooleanField(_("active"), default=True)
    # Opt-out, not opt-in (consent.opt_outs): processed until the person says no, and offered on
    # the public privacy choices page under the law's wording.
    opt_out = models.CharField(
        _("opt-out right"),
        max_length=32,
        choices=OptOut.choices,
        blank=True,
        default="",
        help_text=_(
            "Set: this purpose needs no yes; it applies until the person opts out (CCPA/CPRA). "
            "Empty: an ordinary purpose that needs an explicit yes."
        ),
    )
    stopped_by = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="stops",
        limit_choices_to=~models.Q(opt_out=""),
        verbose_name=_("also stopped by the opt-outs"),
        help_text=_(
            "Processing for this purpose is sale or sharing, or uses sensitive data: whoever opted "
            "out of the purposes chosen here is not processed for it either."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # The wording is evidence: a confirmation records which version of it the contact saw.
    history = AuditedHistory("purposes_lists")

    class Meta:
        verbose_name = _("purpose")
        ordering = ["name"]
        permissions = [
            ("view_retention", "Can see what lapses and who is erased (retention preview)"),
            ("export_processing_register", "Can export the records of processing (GDPR Art. 30)"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["opt_out"], condition=~models.Q(opt_out=""), name="purpose_one_per_opt_out"
            )
        ]

    def __str__(self) -> str:
        return self.name


class PurposeConsent(models.Model):
    """One contact's current answer for one purpose. Written only by consent.services."""

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="purpose_consents")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="consents")
    granted = models.BooleanField(_("granted"))
    changed_at = models.DateTimeField(_("date"), default=timezone.now)
    source = models.CharField(_("source"), max_length=32, choices=Source.choices)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("purpose consent")
        constraints = [
            models.UniqueConstraint(fields=["contact", "purpose"], name="purposeconsent_one_per_purpose")
        ]
        indexes = [models.Index(fields=["purpose", "granted", "contact"], name="purposeconsent_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.purpose}: {'yes' if self.granted else 'no'}"


class ConsentChangeQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Consent change records are append-only.")

    def delete(self):
        raise PermissionError("Consent change records are append-only.")


class ConsentChange(models.Model):
    """Who changed which consent of whom, from what to what, when, how and why.

    Append-only evidence (GDPR Art. 7(1): the controller must be able to demonstrate consent).
    """

    # Null only after an erasure pseudonymised the record (consent.services.consent_changes_pseudonymise).
    contact = models.ForeignKey(
        "contacts.Contact", null=True, on_delete=models.PROTECT, related_name="consent_changes"
    )
    field = models.CharField(_("field"), max_length=32, choices=ConsentField.choices)
    purpose = models.ForeignKey(Purpose, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    old_value = models.CharField(_("from"), max_length=32, blank=True)
    new_value = models.CharField(_("to"), max_length=32)
    # PROTECT: the chain seals who acted; a staff account with records is pseudonymised, not deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("source"), max_length=32, choices=Source.choices)
    channel = models.CharField(
        _("channel"), max_length=64, blank=True, help_text=_("e.g. phone, letter, web")
    )
    justification = models.TextField(_("justification"), blank=True)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    effective_at = models.DateTimeField(_("effective"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False, db_index=True)

    # Tamper evidence (consent.audit_chain): each record seals the one before it and every column.
    # Personal fields enter through personal_digest and the contact through a keyed hash of its id,
    # kept in subject_tag when erasure blanks the contact: the chain still verifies afterwards.
    personal_digest = models.CharField(max_length=64, editable=False, db_default="")
    subject_tag = models.CharField(max_length=64, editable=False, db_default="")
    prev_hash = models.CharField(max_length=64, editable=False, db_default="")
    chain_hash = models.CharField(max_length=64, editable=False, db_default="")
    pseudonymised = models.BooleanField(default=False, db_default=False, editable=False)

    objects = ConsentChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent change record")
        ordering = ["-recorded_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-recorded_at"], name="consentchange_contact_idx"),
            models.Index(fields=["field", "-recorded_at"], name="consentchange_field_idx"),
        ]
        permissions = [
            ("export_consentchange", "Can export consent change records"),
            # consent.services.justification_required: who may relay answers by API without a reason.
            ("relay_consent", "Can relay a person's own consent answers by API without a justification"),
            # consent.held: the contact page's "what did we hold on date X" (officers and auditors).
            ("view_held_consent", "Can see the consent held for a contact at a past moment"),
        ]

    def __str__(self) -> str:
        return f"{self.field_label}: {self.old_display} → {self.new_display}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Consent change records are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Consent change records are append-only.")

    @property
    def field_label(self) -> str:
        return self.describe_field(self.field, self.purpose if self.purpose_id else None)

    @property
    def old_display(self) -> str:
        return self.describe_value(self.field, self.old_value)

    @property
    def new_display(self) -> str:
        return self.describe_value(self.field, self.new_value)

    # Static, so that an export reading plain values (no model instances) words them the same way.
    @staticmethod
    def describe_field(field: str, purpose) -> str:
        if field == ConsentField.PURPOSE and purpose is not None:
            return f"{ConsentField.PURPOSE.label}: {purpose}"
        return str(ConsentField(field).label)

    @staticmethod
    def describe_value(field: str, raw: str) -> str:
        if raw == "":
            return "—"
        if field == ConsentField.CONSENT_GIVEN:
            return level_label(int(raw))
        if field == ConsentField.TRACKING:
            return str(_("Allow") if raw == "True" else _("Do not allow"))
        if field == ConsentField.IS_CHILD:
            return str(_("Child") if raw == "True" else _("Adult"))
        return str(_("Yes") if raw == "True" else _("No"))


class ConsentLevelSnapshot(models.Model):
    """How many contacts held each level on a day; written nightly by a beat task for trend charts."""

    date = models.DateField()
    level = models.PositiveSmallIntegerField(choices=ConsentLevel.choices)
    contacts = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["date", "level"], name="snapshot_one_per_day_level")]
        ordering = ["-date", "level"]

    def __str__(self) -> str:
        return f"{self.date} {level_label(self.level)}: {self.contacts}"


class AuditChainHead(models.Model):
    """The newest link of the consent change chain; its row lock orders every writer (pk=1)."""

    length = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.length} records, head {self.last_hash[:12]}"


class AuditCheckpoint(models.Model):
    """The chain's length and head at a moment, signed with the chain key (consent.audit_chain).

    Kept apart from the chain, written daily and on demand, shown in the compliance report: who
    removes the newest records and rolls the head back cannot remove what a checkpoint names."""

    length = models.PositiveBigIntegerField(_("records"))
    head_hash = models.CharField(_("head"), max_length=64)
    created_at = models.DateTimeField(_("taken"), db_index=True)
    signature = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("audit checkpoint")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.length} records, head {self.head_hash[:12]} ({self.created_at:%Y-%m-%d %H:%M})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit checkpoints are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit checkpoints are append-only.")


class AuditVerification(models.Model):
    """One walk of the audit chain and its outcome (consent.audit_chain.verify_and_record): when
    the trail was last verified clean, for the dashboard and monitoring. A figure, not a proof."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    ok = models.BooleanField()
    checked = models.PositiveBigIntegerField()
    problems = models.PositiveBigIntegerField()
    summary = models.CharField(max_length=1000)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return self.summary


class AuditStretchSeal(models.Model):
    """A stretch of the audit chain (the records with id // AUDIT_STRETCH_IDS == stretch) as it
    stood when it last verified clean: PostgreSQL's digest of its rows as stored, signed with the
    chain key (consent.audit_seals). A cache of work done, not a proof: a stretch whose rows no
    longer give this digest is walked again, and deleting seals only makes the next walk whole."""

    stretch = models.PositiveBigIntegerField(unique=True)
    records = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)
    first_prev = models.CharField(max_length=64)  # prev_hash of its first record: the link before it
    last_hash = models.CharField(max_length=64)  # chain_hash of its last record
    verified_at = models.DateTimeField(default=timezone.now)
    signature = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"stretch {self.stretch}: {self.records} records"


class RetentionRun(models.Model):
    """One run of the nightly retention job (consent.lapse): what it lapsed and erased, per rule.

    counts: {"<kind>:<record id>": {"kind", "rule", "lapsed", "erased"}}, updated in the same
    transaction as each batch, so a run that died keeps exactly what it committed.
    """

    class State(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")
        INTERRUPTED = "interrupted", _("interrupted (worker stopped)")

    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The moment the rules were evaluated at: every lapse of the run is due by then.
    as_of = models.DateTimeField(_("evaluated at"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RUNNING)
    counts = models.JSONField(_("counts per rule"), default=dict)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("retention run")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Retention run {self.started_at:%Y-%m-%d %H:%M} ({self.get_state_display()})"

    @property
    def lapsed(self) -> int:
        return sum(c.get("lapsed", 0) for c in self.counts.values())

    @property
    def erased(self) -> int:
        return sum(c.get("erased", 0) for c in self.counts.values())
