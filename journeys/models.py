from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.history import AuditedHistory
from core.levels import ConsentLevel
from journeys.rules import validate_rules

# Without the compliance switch "Enable minimum consent level selection", journeys and scoring
# models use this level.
DEFAULT_MIN_LEVEL = ConsentLevel.MARKETING


class Segment(models.Model):
    """A group of contacts described by rules (journeys.rules), stored as data."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    rules = models.JSONField(
        _("rules"),
        default=dict,
        help_text=_(
            'e.g. {"all": [{"purpose": "newsletter", "value": true}, '
            '{"field": "country", "op": "eq", "value": "DE"}]}; use "any" for or.'
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = AuditedHistory("segments")

    class Meta:
        verbose_name = _("segment")
        ordering = ["name"]
        permissions = [("export_segment", "Can export a segment's members")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        validate_rules(self.rules)


class SegmentExport(models.Model):
    """A job writing a segment's eligible members to a file (Excel or CSV)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Format(models.TextChoices):
        XLSX = "xlsx", _("Excel")
        CSV = "csv", _("CSV")

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices, default=Format.XLSX)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("members"), default=0)
    written = models.PositiveIntegerField(_("written"), default=0)
    file = models.CharField(_("result file"), max_length=300, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("segment export")
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.segment} ({self.get_status_display()})"

    @property
    def progress(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.written / self.total) if self.total else 0


class EmailTemplate(models.Model):
    """An email a journey sends; {{ first_name }} and {{ last_name }} are filled in per contact."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(
        _("text"), help_text=_("Plain text. Placeholders: {{ first_name }}, {{ last_name }}.")
    )
    history = AuditedHistory("email_templates")

    class Meta:
        verbose_name = _("email template")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from journeys import placeholders
        from journeys.emails import preview

        errors = {}
        for name in ("subject", "body"):
            try:
                placeholders.check(getattr(self, name) or "")
            except ValidationError as error:
                errors[name] = error.messages
        if errors:
            raise ValidationError(errors)
        try:  # a preview for a sample contact, rendered as sending would render it
            preview(self)
        except Exception as error:  # whatever breaks, the officer gets a message, not a 500
            raise ValidationError(_("This email cannot be rendered: %s") % error) from error


class Journey(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LIVE = "live", _("Live")
        PAUSED = "paused", _("Paused")
        STOPPED = "stopped", _("Stopped")
        COMPLETED = "completed", _("Completed")

    name = models.CharField(_("name"), max_length=100, unique=True)
    segment = models.ForeignKey(Segment, verbose_name=_("segment"), on_delete=models.PROTECT)
    purpose = models.ForeignKey(
        "consent.Purpose",
        verbose_name=_("purpose"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Contacts need an explicit yes for it."),
    )
    subscription_list = models.ForeignKey(
        "subscriptions.SubscriptionList",
        verbose_name=_("list"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Emails carry this list's one-click unsubscribe; who leaves it leaves the journey."),
    )
    min_level = models.PositiveSmallIntegerField(
        _("minimum consent"), choices=ConsentLevel.choices, default=DEFAULT_MIN_LEVEL
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    enrol_until = models.DateTimeField(
        _("enrol until"),
        null=True,
        blank=True,
        help_text=_("Empty: keeps enrolling new members. Set: completes once everyone enrolled finished."),
    )
    went_live_at = models.DateTimeField(null=True, blank=True, editable=False)
    stopped_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = AuditedHistory("journeys")

    class Meta:
        verbose_name = _("customer journey")
        ordering = ["name"]
        indexes = [models.Index(fields=["status"], name="journey_status_idx")]

    def __str__(self) -> str:
        return self.name


class JourneyStep(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", _("Send email")
        TASK = "task", _("Create task")
        WAIT = "wait", _("Wait")

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("order"))
    kind = models.CharField(_("step"), max_length=8, choices=Kind.choices)
    template = models.ForeignKey(
        EmailTemplate, verbose_name=_("email"), null=True, blank=True, on_delete=models.PROTECT
    )
    wait_days = models.PositiveSmallIntegerField(_("wait (days)"), null=True, blank=True)
    task_title = models.CharField(_("task"), max_length=200, blank=True)
    task_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("task for user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    task_group = models.ForeignKey(
        "auth.Group",
        verbose_name=_("task for group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    history = AuditedHistory("journeys")

    class Meta:
        verbose_name = _("step")
        ordering = ["journey", "position"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "position"], name="journeystep_one_per_position")
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.EMAIL:
            return f"{self.position}. {_('Send')} {self.template}"
        if self.kind == self.Kind.WAIT:
            return f"{self.position}. {_('Wait')} {self.wait_days} d"
        return f"{self.position}. {_('Task')}: {self.task_title}"

    def clean(self) -> None:
        errors = {}
        if self.kind == self.Kind.EMAIL and not self.template_id:
            errors["template"] = _("A send email step needs an email template.")
        if self.kind == self.Kind.WAIT and not self.wait_days:
            errors["wait_days"] = _("A wait step needs a number of days (1 or more).")
        if self.kind == self.Kind.TASK:
            if not self.task_title:
                errors["task_title"] = _("A create task step needs a title.")
            if bool(self.task_user_id) == bool(self.task_group_id):
                errors["task_user"] = _("Give the task to a user or to a group (one of them).")
        if errors:
            raise ValidationError(errors)


class Enrolment(models.Model):
    """One contact's way through one journey. Created set-based by journeys.services.journey_enrol."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("In the journey")
        COMPLETED = "completed", _("Completed")
        EXITED = "exited", _("Exited")

    class ExitReason(models.TextChoices):
        NONE = "", _("—")
        BELOW_MINIMUM = "below_minimum", _("Consent below the journey's minimum")
        PURPOSE_WITHDRAWN = "purpose_withdrawn", _("Purpose consent withdrawn")
        RESTRICTED = "restricted", _("Processing restricted")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed from the journey's list")
        ERASED = "erased", _("Erased")
        NO_EMAIL = "no_email", _("No email address")
        UNDELIVERABLE = "undeliverable", _("Mail to the address bounced")
        JOURNEY_STOPPED = "journey_stopped", _("Journey stopped")

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrolments")
    # SET_NULL: erasing the contact leaves an anonymous row, so the exit can still be recorded.
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE, db_default=Status.ACTIVE
    )
    next_position = models.PositiveSmallIntegerField(default=0, db_default=0)
    due_at = models.DateTimeField(_("next step due"), default=timezone.now, db_default=Now())
    enrolled_at = models.DateTimeField(_("enrolled"), default=timezone.now, db_default=Now())
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    exit_reason = models.CharField(
        _("exit reason"), max_length=32, choices=ExitReason.choices, blank=True, default="", db_default=""
    )
    # The eligibility rules' words at the moment of exit (consent.eligibility), e.g. "Newsletter
    # answered No on 12 May 2026 via import “CRM” row 14": the reason as it was, not as it is now.
    # Never a sensitive field's words (a child, a restriction): every journey role reads it.
    exit_detail = models.CharField(_("why it exited"), max_length=1000, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("enrolment")
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "contact"], name="enrolment_once_per_journey")
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="enrolment_due_idx")]

    def __str__(self) -> str:
        return f"{self.journey}: #{self.contact_id or '—'} ({self.get_status_display()})"


class StepRun(models.Model):
    """The claim on one step of one enrolment, committed before the step's work (at most once).

    An email goes claimed -> sending (handed to the mail server) -> done; the claim of a worker that
    died before "sending" is taken over, one that died after it becomes "uncertain".
    """

    class Status(models.TextChoices):
        CLAIMED = "claimed", _("Claimed")
        SENDING = "sending", _("Handed to the mail server")
        DONE = "done", _("Done")
        UNCERTAIN = "uncertain", _("Interrupted while sending, not repeated")

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="step_runs")
    step = models.ForeignKey(JourneyStep, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CLAIMED)
    claimed_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["enrolment", "step"], name="steprun_once")]
        # The dashboard counts the interrupted sends on every visit: a few rows among millions.
        indexes = [
            models.Index(
                fields=["enrolment"], condition=models.Q(status="uncertain"), name="steprun_uncertain_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.step} ({self.status})"


class JourneyTask(models.Model):
    """Work for a person or a group, created by a journey's step about one contact."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="tasks")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("task"), max_length=200)
    assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    done = models.BooleanField(_("done"), default=False)

    class Meta:
        verbose_name = _("task")
        ordering = ["done", "-created_at"]

    def __str__(self) -> str:
        return self.title


class Interaction(models.Model):
    """Something a contact did (opened, clicked, visited, submitted); only kept with tracking allowed."""

    class Kind(models.TextChoices):
        EMAIL_OPEN = "email_open", _("Email opened")
        EMAIL_CLICK = "email_click", _("Link in an email clicked")
        PAGE_VISIT = "page_visit", _("Page visited")
        FORM_SUBMIT = "form_submit", _("Form submitted")
        EVENT_ATTEND = "event_attend", _("Event attended")

    # What the person did on purpose (contacts.activity): an open is the mail client loading
    # images and a page visit can be a prefetch, so neither starts a retention clock again.
    PERSON_ACTIONS = frozenset({Kind.EMAIL_CLICK, Kind.FORM_SUBMIT})

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    detail = models.CharField(max_length=300, blank=True, help_text=_("e.g. the page or link"))

    class Meta:
        indexes = [models.Index(fields=["contact", "kind", "at"], name="interaction_lookup_idx")]
        # Officers by default; marketers when an officer switches it on (staff.roles.may_view_insights).
        permissions = [("view_marketing_insights", "Can view marketing insights")]

    def __str__(self) -> str:
        return self.get_kind_display()


class ScoringModel(models.Model):
    """Lead scoring: points per contact from rules; scores only who meets the minimum consent."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    min_level = models.PositiveSmallIntegerField(
        _("minimum consent"), choices=ConsentLevel.choices, default=ConsentLevel.PROFILING
    )
    active = models.BooleanField(_("active"), default=True)

    history = AuditedHistory("scoring")

    class Meta:
        verbose_name = _("lead scoring model")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.min_level < ConsentLevel.MARKETING:
            raise ValidationError(
                {"min_level": _("Scoring leads is marketing at least: choose Marketing or Profiling.")}
            )


class ScoringRule(models.Model):
    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="rules")
    points = models.IntegerField(_("points"))
    condition = models.JSONField(
        _("attribute condition"),
        null=True,
        blank=True,
        help_text=_('Segment rules, e.g. {"field": "country", "op": "eq", "value": "DE"}'),
    )
    interaction = models.CharField(
        _("per interaction"),
        max_length=16,
        choices=Interaction.Kind.choices,
        blank=True,
        help_text=_("Points for each such interaction (needs the contact's tracking choice)."),
    )
    within_days = models.PositiveSmallIntegerField(_("within the last (days)"), null=True, blank=True)
    history = AuditedHistory("scoring")

    class Meta:
        verbose_name = _("scoring rule")

    def __str__(self) -> str:
        what = self.get_interaction_display() if self.interaction else _("attribute")
        return f"{self.points:+d} {what}"

    def clean(self) -> None:
        if bool(self.condition) == bool(self.interaction):
            raise ValidationError(
                _("A scoring rule gives points either for an attribute or per interaction.")
            )
        if self.condition:
            try:
                validate_rules(self.condition)
            except ValidationError as error:
                raise ValidationError({"condition": error.messages}) from error


class Score(models.Model):
    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="scores")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    score = models.IntegerField(_("score"))
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("lead score")
        ordering = ["-score", "id"]
        constraints = [models.UniqueConstraint(fields=["model", "contact"], name="score_one_per_model")]

    def __str__(self) -> str:
        return f"{self.model}: {self.score}"


class ForwardedEmail(models.Model):
    """A journey email a contact forwarded to a friend's address (the friend gets that one email).

    The friend is never made a contact; the row exists so the same email is not sent to the same
    address twice and so abuse can be seen, and is deleted after 30 days (journeys.forwarding).
    """

    step_run = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="forwards")
    friend_email = models.EmailField(_("friend's address"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("forwarded email")
        constraints = [
            models.UniqueConstraint(fields=["step_run", "friend_email"], name="forward_once_per_address")
        ]

    def __str__(self) -> str:
        return f"Forwarded {self.created_at:%Y-%m-%d}"


class TrackedLink(models.Model):
    """A link of an email template, as the template wrote it, that tracked journey emails send
    through the click redirect (journeys.tracking). The redirect's token names the send and this
    row, never the target, so it cannot be turned into a redirect to anywhere. A template's own
    text names nobody, so neither does this row; it is shared by every send of the template."""

    template = models.ForeignKey(EmailTemplate, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(_("link"), max_length=2000)

    class Meta:
        verbose_name = _("tracked link")
        constraints = [
            models.UniqueConstraint(fields=["template", "url"], name="trackedlink_once_per_template")
        ]

    def __str__(self) -> str:
        return self.url


from journeys.renewal_request import RenewalRequest  # noqa: E402, F401  (registered with this app)
from journeys.send_consent import SendConsent  # noqa: E402, F401  (registered with this app)
