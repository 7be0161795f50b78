from contextlib import suppress

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.history import AuditedHistory
from core.levels import CHILD_MAXIMUM, ConsentLevel, level_name
from core.normalize import normalize_email, normalize_phone

TRACKING_CHOICES = [(True, _("Allow")), (False, _("Do not allow"))]
MAX_GUARDIAN_DEPTH = 50  # far beyond any real family; stops a corrupt chain from looping forever


class Contact(models.Model):
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    # Stored normalised (lower case), so equality lookups are case-insensitive and use the index.
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(
        _("phone"), max_length=32, blank=True, db_index=True, help_text=_("Stored as E.164.")
    )
    country = models.CharField(
        _("country"),
        max_length=2,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Use the two-letter country code, e.g. DE."))],
        help_text=_("ISO 3166 alpha-2 code, e.g. DE."),
    )
    # The language pages and emails use for this person; blank: not known (the browser decides).
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Pages reached by this person's links and every email to them use it."),
    )

    # Written only by consent.services (rule 1 of DESIGN.md).
    consent_given = models.PositiveSmallIntegerField(
        _("consent given"), choices=ConsentLevel.choices, default=ConsentLevel.NONE
    )
    tracking_allowed = models.BooleanField(_("tracking"), choices=TRACKING_CHOICES, default=False)

    date_of_birth = models.DateField(
        _("date of birth"),
        null=True,
        blank=True,
        help_text=_("Optional; lets a child's status end on their birthday."),
    )
    is_child = models.BooleanField(_("is a child"), default=False)
    guardian = models.ForeignKey(
        "self",
        verbose_name=_("guardian"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="wards",
    )
    processing_restricted = models.BooleanField(
        _("processing restricted"),
        default=False,
        help_text=_("GDPR Art. 18: while set, the contact is kept but not processed for anything."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The last action that came from the person (GDPR Art. 5(1)(e); the CNIL's "last contact"):
    # a consent given or confirmed, a form, a click, an imported purchase, a request; never an open.
    # Written only by contacts.activity (set-based, never backwards); a plain save() leaves it
    # alone, so an instance read before a click cannot roll the click back. Not in the history:
    # the records of the actions themselves are the evidence.
    last_action_at = models.DateTimeField(
        _("last action by the person"), null=True, blank=True, editable=False
    )

    history = HistoricalRecords(excluded_fields=["updated_at", "last_action_at"])

    class Meta:
        verbose_name = _("contact")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="contact_name_idx"),
            # The eligibility selector's hot path: unrestricted contacts by level.
            models.Index(
                fields=["consent_given", "id"],
                name="contact_eligible_idx",
                condition=Q(processing_restricted=False),
            ),
            models.Index(fields=["last_action_at"], name="contact_last_action_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(consent_given__gte=0, consent_given__lte=5), name="contact_consent_level_range"
            ),
            models.CheckConstraint(
                condition=~Q(is_child=True, consent_given__gt=CHILD_MAXIMUM),
                name="contact_child_never_profiled",
            ),
            # A child without a guardian (theirs was erased) is held restricted until one is set.
            models.CheckConstraint(
                condition=Q(is_child=False) | Q(guardian__isnull=False) | Q(processing_restricted=True),
                name="contact_child_has_guardian",
            ),
            models.CheckConstraint(condition=~Q(guardian=F("id")), name="contact_not_own_guardian"),
        ]
        permissions = [
            ("view_sensitive_contact", "Can see child, guardian and restriction fields"),
            ("view_restricted_contact", "Can see contacts whose processing is restricted (GDPR Art. 18)"),
            ("export_contact", "Can export contacts to Excel"),
            ("rectify_contact", "Can correct contacts in bulk from an Excel file"),
        ]

    def __str__(self) -> str:
        return self.label(self.pk, self.first_name, self.last_name, self.email, self.phone)

    def save(self, *args, **kwargs):
        # An update of a loaded row leaves last_action_at to contacts.activity (see the field).
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                f.attname
                for f in self._meta.concrete_fields
                if not f.primary_key and f.attname not in deferred and f.attname != "last_action_at"
            ]
        super().save(*args, **kwargs)

    def get_consent_given_display(self) -> str:
        # The organisation's name for the level (core.levels), not the field's built-in label.
        return level_name(self.consent_given)

    @staticmethod
    def label(pk, first_name: str, last_name: str, email: str, phone: str) -> str:
        """How a contact is named in lists and exports; static for exports that read plain values."""
        name = f"{first_name} {last_name}".strip()
        return name or email or phone or f"Contact #{pk}"

    def clean_fields(self, exclude=None) -> None:
        # Normalise before the field validators run, so " Holly@Contoso.COM " is a valid address.
        self.email = (self.email or "").strip().lower()
        self.country = (self.country or "").strip().upper()
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        # An invalid address is reported by clean_fields() on the email field; raising it here
        # again would show it twice, the second time without its field.
        with suppress(ValidationError):
            self.email = normalize_email(self.email) if self.email else ""
        try:
            self.phone = normalize_phone(self.phone)
        except ValidationError as exc:
            errors.setdefault("phone", []).extend(exc.messages)
        if not (self.email or self.phone or self.is_child):
            errors.setdefault("email", []).append(_("Give an email address or a phone number."))
        if self.is_child and self.consent_given > CHILD_MAXIMUM:
            errors.setdefault("consent_given", []).append(
                _(
                    "A child can never be given Profiling consent (GDPR Art. 8); the highest level is Marketing."
                )
            )
        errors_guardian = self._guardian_errors()
        if errors_guardian:
            errors.setdefault("guardian", []).extend(errors_guardian)
        if errors:
            raise ValidationError(errors)

    def _guardian_errors(self) -> list[str]:
        if self.is_child and self.pk and self.wards.exists():
            return [_("This contact is the guardian of other contacts, so it cannot be marked as a child.")]
        if self.guardian_id is None:
            if self.is_child and not self.processing_restricted:
                return [_("A child needs a guardian (or, while none is known, restricted processing).")]
            return []
        if self.pk and self.guardian_id == self.pk:
            return [_("A contact cannot be their own guardian.")]
        guardian = self.guardian
        if guardian.is_child:
            return [_("A guardian cannot be a child.")]
        seen = {self.pk}
        ancestor = guardian
        for _depth in range(MAX_GUARDIAN_DEPTH):
            if ancestor is None:
                return []
            if ancestor.pk in seen:
                return [_("This guardian would create a loop of guardians.")]
            seen.add(ancestor.pk)
            ancestor = ancestor.guardian
        return [_("The chain of guardians is too long.")]


class SuppressedIdentity(models.Model):
    """A keyed hash of an erased person's email address or phone number (GDPR Art. 17 + 21).

    Holds no personal data in the clear: imports and sign-ups hash what they are given and refuse a
    match, so an erased person is not silently re-created from an old export.
    """

    digest = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=[("email", "email"), ("phone", "phone")])
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=200, help_text=_("e.g. the erasure request's reference"))

    # Who added and who lifted an entry, and why; never the hash, which identifies the person:
    # a lifted entry leaves nothing in its history that points back to them.
    history = AuditedHistory("suppression", excluded_fields=["digest"])

    class Meta:
        verbose_name = _("suppressed identity")
        verbose_name_plural = _("suppressed identities")

    def __str__(self) -> str:
        return f"{self.kind} {self.digest[:12]}…"


class Deliverability(models.Model):
    """Whether mail reaches a contact's address: a fact about delivery, not a consent choice.

    A hard bounce blocks at once; soft bounces are counted and block at MAIL_SOFT_BOUNCE_LIMIT in
    a row (a delivery resets nothing: providers rarely report one). The eligibility selector keeps
    a blocked contact out of every email (consent.selectors); an officer lifts a block with a
    reason, kept in the history.
    """

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("The address does not exist (hard bounce)")
        SOFT_BOUNCES = "soft_bounces", _("Repeated temporary failures (soft bounces)")

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="deliverability")
    soft_bounces = models.PositiveIntegerField(_("soft bounces in a row"), default=0)
    blocked_since = models.DateTimeField(_("blocked since"), null=True, blank=True, db_index=True)
    block_reason = models.CharField(_("why blocked"), max_length=16, choices=Reason.choices, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("deliverability")
        verbose_name_plural = _("deliverability")

    def __str__(self) -> str:
        return f"{self.contact_id}: {'blocked' if self.blocked_since else 'deliverable'}"


class LegalHold(models.Model):
    """A reason to keep a contact that retention must respect until a date (GDPR Art. 17(3)(e):
    legal claims; a tax audit, a dispute). While it lasts, no retention step erases the contact."""

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="legal_holds"
    )
    reason = models.CharField(_("reason"), max_length=300, help_text=_("e.g. pending court case 4 O 12/26"))
    until = models.DateField(_("held until"), help_text=_("The hold ends at the end of this day."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("placed"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("legal hold")
        ordering = ["-until"]
        indexes = [models.Index(fields=["contact", "until"], name="legalhold_contact_idx")]

    def __str__(self) -> str:
        return f"{self.reason} ({self.until:%Y-%m-%d})"
