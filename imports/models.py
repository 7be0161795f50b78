from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.history import AuditedHistory


class ImportSource(models.Model):
    """A system that keeps consent elsewhere (a web shop, a form tool) and how its export reads.

    The mapping names the export's columns once; every upload or scheduled refresh uses it.
    """

    class UnknownOptions(models.TextChoices):
        REFUSE = "refuse", _("Refuse the row")
        CREATE = "create", _("Create the purpose")

    class RemovedConsent(models.TextChoices):
        WITHDRAW = "withdraw", _("Withdraw the consent")
        KEEP = "keep", _("Keep the consent as it is")

    name = models.CharField(_("name"), max_length=100, unique=True)
    key_column = models.CharField(
        _("primary key column"),
        max_length=100,
        help_text=_("e.g. “Consent ID”: unique per row in the source."),
    )
    email_column = models.CharField(_("email column"), max_length=100, blank=True)
    phone_column = models.CharField(
        _("phone column"),
        max_length=100,
        blank=True,
        help_text=_("Contacts are found by the email address, or by the phone number where a row has none."),
    )
    option_column = models.CharField(_("consent option column"), max_length=100)
    value_column = models.CharField(_("consent value column"), max_length=100)
    date_column = models.CharField(
        _("date column"),
        max_length=100,
        blank=True,
        help_text=_("Empty: the consent takes effect at import."),
    )
    level_column = models.CharField(
        _("consent level column"), max_length=100, blank=True, help_text=_("Optional: a level 0–5 per row.")
    )
    last_action_column = models.CharField(
        _("last action column"),
        max_length=100,
        blank=True,
        help_text=_(
            "Optional: the date of the person's last action in the source (a purchase, a booking). "
            "It counts as their last real action, which retention periods run from."
        ),
    )
    option_map = models.JSONField(
        _("option names"),
        default=dict,
        blank=True,
        help_text=_(
            'Option names in the export → purpose keys, e.g. {"Product updates": "product-news"}. '
            "Options not listed match a purpose by name or key."
        ),
    )
    unknown_options = models.CharField(
        _("unknown options"), max_length=8, choices=UnknownOptions.choices, default=UnknownOptions.REFUSE
    )
    removed_consent = models.CharField(
        _("consent no longer in the export"),
        max_length=8,
        choices=RemovedConsent.choices,
        default=RemovedConsent.KEEP,
        help_text=_("What a complete import does to consent imported earlier whose row has gone."),
    )
    create_contacts = models.BooleanField(
        _("create missing contacts"),
        default=True,
        help_text=_("Off: rows for addresses that match no contact are refused."),
    )
    refresh_path = models.CharField(
        _("file or folder for the nightly refresh"),
        max_length=500,
        blank=True,
        help_text=_(
            "Relative to the import drop folder. A folder: its newest .csv or .xlsx file is imported. "
            "Empty: uploads only."
        ),
    )
    refresh_enabled = models.BooleanField(_("refresh nightly"), default=False)
    refresh_mode = models.CharField(
        _("mode of the nightly refresh"),
        max_length=16,
        choices=[
            ("valid_rows", _("Apply the valid rows, report the others")),
            ("all_or_nothing", _("All or nothing: one refused row stops the import")),
        ],
        default="valid_rows",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = AuditedHistory("import_sources")

    class Meta:
        verbose_name = _("import source")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if not (self.email_column or self.phone_column):
            errors["email_column"] = _("Name the email column, the phone column, or both.")
        if not isinstance(self.option_map, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.option_map.items()
        ):
            errors["option_map"] = _('Give option names and purpose keys as text, e.g. {"News": "news"}.')
        if self.refresh_enabled and not self.refresh_path:
            errors["refresh_path"] = _("A nightly refresh needs the file or folder to read.")
        if self.refresh_path:
            try:
                self.refresh_location()
            except ValidationError as error:
                errors["refresh_path"] = error.messages
        if errors:
            raise ValidationError(errors)

    def refresh_location(self) -> Path:
        """The refresh path inside IMPORT_DROP_DIR; anything outside it (../, links) is refused,
        so an import source cannot read the server's own files."""
        root = Path(settings.IMPORT_DROP_DIR).resolve()
        target = (root / self.refresh_path).resolve()
        if target != root and root not in target.parents:
            raise ValidationError(
                _("The path must lie inside the import drop folder (%(root)s).") % {"root": root}
            )
        return target

    @property
    def columns(self) -> dict[str, str]:
        """Mapped role → column name, for the roles this source uses."""
        roles = {
            "key": self.key_column,
            "email": self.email_column,
            "phone": self.phone_column,
            "option": self.option_column,
            "value": self.value_column,
            "date": self.date_column,
            "level": self.level_column,
            "last_action": self.last_action_column,
        }
        return {role: column.strip() for role, column in roles.items() if column and column.strip()}


def _upload_to(run, filename: str) -> str:
    return f"imports/{run.source_id}/{filename}"


class ImportRun(models.Model):
    """One import of one file: a job with status, progress and a report of refused rows.

    `next_row` is committed together with each chunk's changes, so a rerun after a crash starts
    exactly where the last committed chunk ended (DESIGN.md: long work is safe to retry).
    """

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all_or_nothing", _("All or nothing: one refused row stops the import")
        VALID_ROWS = "valid_rows", _("Apply the valid rows, report the others")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        UPLOAD = "upload", _("Upload")
        REFRESH = "refresh", _("Scheduled refresh")

    source = models.ForeignKey(ImportSource, on_delete=models.PROTECT, related_name="runs")
    file = models.FileField(_("file"), upload_to=_upload_to, max_length=300)
    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(max_length=64, editable=False)
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices, default=Mode.VALID_ROWS)
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.UPLOAD)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    next_row = models.PositiveIntegerField(
        default=0, help_text="Data rows (1-based count) whose outcome is committed; a rerun resumes after."
    )
    applied_rows = models.PositiveIntegerField(_("applied"), default=0)
    unchanged_rows = models.PositiveIntegerField(_("unchanged"), default=0)
    refused_rows = models.PositiveIntegerField(_("refused"), default=0)
    changes = models.PositiveIntegerField(_("consent changes"), default=0)
    withdrawn = models.PositiveIntegerField(_("withdrawn (gone from the export)"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("import run")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} · {self.file_name} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, int(100 * self.next_row / self.total_rows))


class ImportRowError(models.Model):
    """A refused row: its number in the file (the header is row 1) and why, in plain words."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(_("row"))
    source_key = models.CharField(_("key"), max_length=200, blank=True)
    reason = models.TextField(_("reason"))

    class Meta:
        verbose_name = _("refused row")
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["run", "row"], name="importrowerror_run_idx")]

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


class ImportedConsent(models.Model):
    """What a source last said for one of its rows, so a reimport applies only what changed.

    Keyed by the source's primary key; `digest` covers the row's identity and values. The contacts
    are those sharing the row's normalised email or phone when it was applied.
    """

    source = models.ForeignKey(ImportSource, on_delete=models.CASCADE, related_name="imported")
    source_key = models.CharField(max_length=200)
    digest = models.CharField(max_length=64)
    contacts = models.ManyToManyField("contacts.Contact", related_name="imported_consents")
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="+")
    granted = models.BooleanField()
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    effective_at = models.DateTimeField()
    last_run = models.ForeignKey(ImportRun, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("imported consent")
        constraints = [
            models.UniqueConstraint(fields=["source", "source_key"], name="importedconsent_one_per_key")
        ]
        indexes = [models.Index(fields=["source", "last_run"], name="importedconsent_seen_idx")]

    def __str__(self) -> str:
        return f"{self.source} #{self.source_key}"


def _rectification_upload_to(run, filename: str) -> str:
    return f"rectifications/{filename}"


class Rectification(models.Model):
    """One bulk rectification (GDPR Art. 16): a workbook exported from the contact list, corrected
    by an officer and uploaded back, run as a job like an import (status, progress, a report of
    refused rows). Every changed field went through the services a hand edit uses."""

    Mode = ImportRun.Mode
    Status = ImportRun.Status

    file = models.FileField(_("file"), upload_to=_rectification_upload_to, max_length=300, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(max_length=64, editable=False)
    reason = models.TextField(
        _("reason for the corrections"),
        help_text=_(
            "Kept in each corrected contact's history, e.g. “corrections from customer service, May”."
        ),
    )
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices, default=Mode.VALID_ROWS)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    next_row = models.PositiveIntegerField(
        default=0, help_text="Data rows whose outcome is committed; a rerun resumes after."
    )
    applied_rows = models.PositiveIntegerField(_("corrected"), default=0)
    unchanged_rows = models.PositiveIntegerField(_("unchanged"), default=0)
    refused_rows = models.PositiveIntegerField(_("refused"), default=0)
    changes = models.PositiveIntegerField(_("fields changed"), default=0)
    confirmations = models.PositiveIntegerField(_("confirmations asked"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("bulk rectification")
        verbose_name_plural = _("bulk rectifications")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"


class RectificationRowError(models.Model):
    """A refused row of a rectification: its number in the file (the header is row 1), the column
    and why. Reasons never repeat the cell's value (the report names no one)."""

    rectification = models.ForeignKey(Rectification, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=200, blank=True)
    reason = models.TextField(_("reason"))

    class Meta:
        verbose_name = _("refused row")
        ordering = ["row", "id"]

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"
