"""The organisation's settings every app reads: one row of switches and retention periods."""

from contextvars import ContextVar

from django.core.validators import MinValueValidator, URLValidator
from django.db import connection, models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.contrast import HEX_COLOUR, validate_brand_colour
from core.levels import ConsentLevel
from core.logo import logo_storage, logo_upload_to, validate_logo
from core.translations import Translated, translations_field

ACCESS_LOG_MIN_RETENTION_DAYS = 30
# The product's own colour (static/css/public.css, --accent), kept when the officer sets none.
DEFAULT_BRAND_COLOUR = "#0b5394"


class ComplianceSettings(models.Model):
    """The organisation's switches and retention periods; exactly one row (pk=1)."""

    min_consent_level_selection_enabled = models.BooleanField(
        _("Enable minimum consent level selection"),
        default=False,
        help_text=_("Lets journeys and segments require a minimum consent level."),
    )
    log_consent_changes = models.BooleanField(
        _("Log consent changes"),
        default=False,
        help_text=_("Write a consent change record for every change. Off: changes apply without a record."),
    )
    email_level_opt_out = models.BooleanField(
        _("Opt-outs apply to the whole email address"),
        default=False,
        help_text=_(
            "On: an opt-out stops every contact sharing the address. Off: only the contact who opts out."
        ),
    )
    double_opt_in_expiry_hours = models.PositiveIntegerField(
        _("double opt-in link valid for (hours)"), default=72
    )
    age_of_consent = models.PositiveSmallIntegerField(
        _("age of digital consent"),
        default=16,
        help_text=_("GDPR Art. 8: 16 unless national law sets 13 to 15."),
    )
    request_response_days = models.PositiveIntegerField(
        _("data subject request deadline (days)"), default=30, help_text=_("GDPR Art. 12(3): one month.")
    )
    request_clock_starts_at = models.CharField(
        _("the request deadline counts from"),
        max_length=16,
        choices=[("receipt", _("receipt of the request")), ("verification", _("verification of identity"))],
        default="receipt",
        help_text=_("Both dates are shown on each request; this one sets its due date."),
    )
    access_log_retention_days = models.PositiveIntegerField(
        _("keep staff access log (days)"),
        default=730,
        # The database refuses to delete younger entries (staff migration 0008, on SQLite).
        validators=[MinValueValidator(ACCESS_LOG_MIN_RETENTION_DAYS)],
    )
    interaction_retention_days = models.PositiveIntegerField(
        _("keep interactions (days)"),
        default=365,
        help_text=_("Email opens and clicks, page visits and form submissions older than this are deleted."),
    )
    segment_export_retention_days = models.PositiveIntegerField(
        _("keep segment export files (days)"),
        default=30,
        help_text=_(
            "Exported member lists (Excel, CSV) older than this are deleted; the job's record stays."
        ),
    )
    import_upload_retention_days = models.PositiveIntegerField(
        _("keep unfinished import uploads (days)"),
        default=30,
        help_text=_(
            "A finished import deletes its file at once; the file of an import that failed or never "
            "finished is deleted after this many days."
        ),
    )
    export_needs_second_officer = models.BooleanField(
        _("data exports need a second officer's confirmation"),
        default=False,
        help_text=_("Four eyes: another privacy officer confirms a bundle before the requester gets it."),
    )
    export_pseudonymise_staff = models.BooleanField(
        _("name staff by pseudonym in a person's data export"),
        default=False,
        help_text=_(
            "The list of staff who accessed a person's record shows pseudonyms instead of usernames."
        ),
    )
    export_link_days = models.PositiveIntegerField(_("data export download link valid (days)"), default=7)
    data_protection_tools_enabled = models.BooleanField(
        _("Show the data-protection tools"),
        default=True,
        help_text=_(
            "Off: the consent and data subject request areas leave the staff menus and the public "
            "request pages answer that requests are not offered here. Nothing is deleted, every "
            "consent rule still applies, and turning it on shows every record again."
        ),
    )
    audit_checkpoint_email = models.EmailField(
        _("send audit checkpoints to"),
        blank=True,
        help_text=_(
            "Each daily signed checkpoint of the audit trail is also emailed here, e.g. to a mailbox "
            "outside this system, so the trail can be checked against a copy nobody here can change."
        ),
    )

    # Which records keep a history (core.history.AUDIT_FAMILIES); these switches' own changes are
    # always in this row's history. Off: no new history rows for that family, old ones stay.
    audit_import_sources = models.BooleanField(_("audit import sources and their mappings"), default=True)
    audit_email_templates = models.BooleanField(_("audit email templates"), default=True)
    audit_journeys = models.BooleanField(_("audit customer journeys and their steps"), default=True)
    audit_segments = models.BooleanField(_("audit segments"), default=True)
    audit_scoring = models.BooleanField(_("audit lead scoring models and rules"), default=True)
    audit_api_keys = models.BooleanField(_("audit API keys (never their secrets)"), default=True)
    audit_suppression = models.BooleanField(
        _("audit erasure suppression entries and their lifting"), default=True
    )
    audit_purposes_lists = models.BooleanField(_("audit purposes and subscription lists"), default=True)
    audit_breaches = models.BooleanField(_("audit the breach register (GDPR Art. 33(5))"), default=True)
    marketers_see_insights = models.BooleanField(
        _("marketers see marketing insights"),
        default=False,
        help_text=_(
            "On: marketers also see a contact's opens, clicks, visits, form submissions and events "
            "(privacy officers always do). Only for contacts who allow tracking, never for children; "
            "every view is written to the staff access log."
        ),
    )

    # The organisation's details, shown on every public page and email (GDPR Art. 13(1)(a)-(b):
    # who the controller is, how to reach it and its data protection officer). All optional: a
    # blank one is left out, never shown as an empty label.
    organisation_name = models.CharField(
        _("organisation name"), max_length=200, blank=True, help_text=_("The controller, as people know it.")
    )
    controller_address = models.TextField(
        _("controller's postal address"), blank=True, help_text=_("Shown under the organisation's name.")
    )
    privacy_contact_email = models.EmailField(
        _("privacy contact email"),
        blank=True,
        help_text=_("Where people write about their data and their rights."),
    )
    dpo_contact = models.CharField(
        _("data protection officer's contact"),
        max_length=300,
        blank=True,
        help_text=_("Name and email address or postal address of the data protection officer, if any."),
    )
    # Art. 30(1)(a): the records of processing also name the controller's representative in the
    # Union (Art. 27), or in the UK (UK GDPR Art. 27), when the controller is established outside.
    representative_name = models.CharField(
        _("representative's name"),
        max_length=200,
        blank=True,
        help_text=_(
            "GDPR Art. 27: the representative of a controller established outside the EU (or the UK)."
        ),
    )
    representative_address = models.TextField(_("representative's postal address"), blank=True)
    representative_email = models.EmailField(_("representative's email address"), blank=True)
    privacy_policy_url = models.URLField(
        _("privacy policy address"),
        blank=True,
        validators=[URLValidator(schemes=["https"], message=_("Enter an https:// address."))],
        help_text=_("The https:// address of the privacy policy, linked from every public page and email."),
    )
    # The organisation's face on the public pages and in emails. Blank: the product's own look.
    logo = models.FileField(
        _("logo"),
        upload_to=logo_upload_to,
        storage=logo_storage,
        blank=True,
        max_length=200,
        validators=[validate_logo],
        help_text=_("A PNG, JPEG or WebP image, at most 512 KB and 2000 × 2000 pixels."),
    )
    brand_colour = models.CharField(
        _("brand colour"),
        max_length=7,
        blank=True,
        validators=[validate_brand_colour],
        help_text=_(
            "A colour such as #0b5394, used for buttons, links and the header. Refused if white text on "
            "it, or it as text on white, would be hard to read (WCAG 2.2 AA contrast)."
        ),
    )

    # The tables keep the names they had when this model lived in consent (core migration 0001).
    history = HistoricalRecords(table_name="consent_historicalcompliancesettings")

    class Meta:
        db_table = "consent_compliancesettings"
        verbose_name = _("compliance settings")
        verbose_name_plural = _("compliance settings")
        permissions = [("view_dashboard", "Can view the compliance dashboard and verify the audit trail")]

    def __str__(self) -> str:
        return str(_("Compliance settings"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "ComplianceSettings":
        """The settings row; within a request read once (a public page's switches and its layout's
        organisation details come from the same row), re-read after it is saved."""
        memo = _settings_memo.get()
        if memo is not None and "row" in memo:
            return memo["row"]
        row = cls.objects.get_or_create(pk=1)[0]
        if memo is not None:
            memo["row"] = row
        return row

    def organisation(self) -> dict[str, str]:
        """The organisation's details for public pages and emails; blank ones left out."""
        details = {
            "name": self.organisation_name.strip(),
            "address": self.controller_address.strip(),
            "privacy_email": self.privacy_contact_email.strip(),
            "dpo": self.dpo_contact.strip(),
            "privacy_policy": self.privacy_policy_url.strip(),
        }
        return {key: value for key, value in details.items() if value}

    def brand(self) -> dict[str, str]:
        """The organisation's face: its name, colour (the product's own when none is set) and the
        logo's path on this site ("" without one)."""
        logo = self.logo.url if self.logo else ""
        # Checked again here: the value goes into a style attribute, so one that reached the row
        # some other way than the form (a shell, a restore) is ignored rather than written out.
        colour = self.brand_colour if HEX_COLOUR.match(self.brand_colour or "") else ""
        return {
            "name": self.organisation_name.strip(),
            "colour": colour or DEFAULT_BRAND_COLOUR,
            "custom_colour": colour,
            "logo_url": logo,
        }

    @classmethod
    def data_protection_tools_shown(cls) -> bool:
        """Whether the consent and data subject request areas are shown to staff and the public.
        Only what is shown: records, rules and the eligibility selector are the same either way.
        Read by every admin page (its menus): one query, and no write when the row is missing."""
        stored = cls._stored("data_protection_tools_enabled")
        return cls._meta.get_field("data_protection_tools_enabled").default if stored is None else stored

    @classmethod
    def switch(cls, name: str) -> bool:
        """One on/off setting, read by every consent write and every subscription center page:
        one plain query, not load()'s get_or_create (0.5 ms, as much as a whole statement); within a
        request, the row load() reads once for the whole request."""
        if _settings_memo.get() is not None:
            return getattr(cls.load(), name)
        stored = cls._stored(name)
        return getattr(cls.load(), name) if stored is None else stored

    @classmethod
    def switch_sql(cls, name: str) -> str:
        """The statement switch() reads `name` with (no row: no result; then load() makes it)."""
        column = connection.ops.quote_name(cls._meta.get_field(name).column)
        table = connection.ops.quote_name(cls._meta.db_table)
        return f"SELECT {column} FROM {table} WHERE id = 1"  # noqa: S608

    @classmethod
    def _stored(cls, name: str) -> bool | None:
        with connection.cursor() as cursor:
            cursor.execute(cls.switch_sql(name))
            row = cursor.fetchone()
        return None if row is None else bool(row[0])


# The settings row of one request (ComplianceSettings.load): core.apps starts it at request_started,
# ends it at request_finished and forgets it when the row is saved. Outside a request every read
# sees the database.
_settings_memo: ContextVar[dict | None] = ContextVar("compliance_settings", default=None)


def settings_memo_start(**_kwargs) -> None:
    _settings_memo.set({})


def settings_memo_end(**_kwargs) -> None:
    _settings_memo.set(None)


def settings_memo_forget(**_kwargs) -> None:
    if _settings_memo.get() is not None:
        _settings_memo.set({})


class LevelWording(Translated, models.Model):
    """The organisation's own name and description of one consent level, per language.

    Only the words: the hierarchy (0-5, a higher level includes the lower ones) and its rules stay
    in code (core.levels). Without a row, or in a language the row does not name, the built-in
    wording applies. Every change of the words raises `version`; the consent change records name
    the version shown (GDPR Art. 7(1): what the person agreed to)."""

    level = models.PositiveSmallIntegerField(_("level"), unique=True, choices=ConsentLevel.choices)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("what it allows"), max_length=2000)
    translations = translations_field()
    version = models.PositiveIntegerField(_("wording version"), default=0, editable=False)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("consent level wording")
        verbose_name_plural = _("consent level wordings")
        ordering = ["level"]

    def __str__(self) -> str:
        return f"{self.level} {self.name}"

    def save(self, *args, **kwargs):
        # A new version whenever the words change, so a record's version names exactly one text.
        if self.pk is not None:
            before = (
                type(self).objects.filter(pk=self.pk).values("name", "description", "translations").first()
            )
            now = {"name": self.name, "description": self.description, "translations": self.translations}
            if before is not None and before != now:
                self.version += 1
        super().save(*args, **kwargs)
