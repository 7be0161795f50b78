import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dsr.jurisdictions import default_jurisdiction, validate_jurisdiction


def new_reference() -> str:
    return "DSR-" + secrets.token_hex(4).upper()


class DataSubjectRequest(models.Model):
    """A person's request about their data (GDPR Art. 15 to 21), from receipt to its answer."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access (Art. 15)")
        RECTIFY = "rectify", _("Rectification (Art. 16)")
        ERASE = "erase", _("Erasure (Art. 17)")
        RESTRICT = "restrict", _("Restriction (Art. 18)")
        EXPORT = "export", _("Portability (Art. 20)")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        VERIFIED = "verified", _("Identity verified")
        IN_PROGRESS = "in_progress", _("In progress")
        EXTENDED = "extended", _("Extended")
        COMPLETED = "completed", _("Completed")
        DECLINED = "declined", _("Declined")

    OPEN = (Status.NEW, Status.VERIFIED, Status.IN_PROGRESS, Status.EXTENDED)

    class Channel(models.TextChoices):
        WEB = "web", _("Web form")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        LETTER = "letter", _("Letter")
        API = "api", _("API")

    reference = models.CharField(
        _("reference"), max_length=16, unique=True, default=new_reference, editable=False
    )
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW, db_index=True
    )
    # Blank only after an erasure scrubbed the request of the person it was about.
    requester_email = models.EmailField(_("requester email"), db_index=True, blank=True)
    # A request made by telephone or letter may give a number only (E.164, like Contact.phone).
    requester_phone = models.CharField(_("requester phone"), max_length=32, blank=True, db_index=True)
    requester_name = models.CharField(_("requester name"), max_length=200, blank=True)
    details = models.TextField(_("what they ask"), blank=True)
    channel = models.CharField(_("received by"), max_length=16, choices=Channel.choices)
    contacts = models.ManyToManyField("contacts.Contact", blank=True, related_name="data_requests")
    # The language the request was made in: its emails use it when no contact's language is known.
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)
    # The law whose clock and rights apply (dsr.jurisdictions): from the requester's country on the
    # public page, else the default one (DSR_DEFAULT_JURISDICTION); an officer may change it.
    jurisdiction = models.CharField(
        _("jurisdiction"), max_length=16, default=default_jurisdiction, validators=[validate_jurisdiction]
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    verified_at = models.DateTimeField(_("identity verified"), null=True, blank=True)
    verification = models.CharField(_("how identity was verified"), max_length=200, blank=True)
    due_at = models.DateTimeField(_("due"), db_index=True)
    extended_until = models.DateTimeField(_("extended until"), null=True, blank=True)
    extension_reason = models.TextField(_("reason for the extension"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("assignee"),
    )
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True, editable=False)
    reminded_on = models.DateField(null=True, blank=True, editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("data subject request")
        ordering = ["due_at"]
        indexes = [models.Index(fields=["status", "due_at"], name="dsr_queue_idx")]

    def __str__(self) -> str:
        return f"{self.reference} {self.get_kind_display()}"

    def person_languages(self) -> list[str]:
        """The languages to write to the requester in, best first: their contacts' stored
        language, then the language the request was made in (core.languages.mail_language)."""
        stored = [c.language for c in self.contacts.all() if c.language] if self.pk else []
        return [*stored, self.language]

    @property
    def clock(self):
        """Every deadline of the request under its law (dsr.clocks.request_clock)."""
        from dsr.clocks import request_clock

        return request_clock(self)

    @property
    def deadline(self):
        return self.clock.deadline

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class ErasureRecord(models.Model):
    """Proof that an erasure happened and what it did, without personal data (GDPR Art. 5(2), 17).

    The receipt lists per model what was deleted, anonymised or kept (legal basis, until when) and
    follow-ups for the officer; the residue scan says which tables still mentioned the person.
    """

    request = models.ForeignKey(
        DataSubjectRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="erasures"
    )
    performed_at = models.DateTimeField(_("performed"), default=timezone.now)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    contacts_erased = models.PositiveIntegerField(_("contacts erased"))
    receipt = models.JSONField(_("receipt"), default=dict)
    residue_clean = models.BooleanField(_("residue scan clean"), null=True)
    residue = models.JSONField(_("residue scan"), default=dict)
    # Its line in the erasure ledger outside the database (dsr.ledger), for re-applying after a restore.
    ledger_entry = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        verbose_name = _("erasure record")
        ordering = ["-performed_at"]

    def __str__(self) -> str:
        return f"Erasure {self.performed_at:%Y-%m-%d %H:%M} ({self.contacts_erased} contacts)"

    @property
    def retention_rule(self) -> str:
        """The retention rule that erased these contacts (consent.lapse), e.g. "purpose Newsletter";
        empty for an erasure asked for."""
        rule = self.receipt.get("retention")
        return f"{rule['kind']} {rule['rule']}" if rule else ""

    @property
    def residue_pending(self) -> bool:
        """The residue scan is queued for a worker (dsr.residue_queue) and has not written yet."""
        return self.residue_clean is None and PendingResidueScan.objects.filter(record=self.pk).exists()


class PendingResidueScan(models.Model):
    """An erasure whose residue scan has not run yet (dsr.residue_queue).

    The scan needs to know what to look for after the rows are gone, so the erased identities wait
    here, encrypted with a key derived from SECRET_KEY (another erasure's scan, a dump or a backup
    reads only ciphertext), until a worker scans; the row is deleted with the verdict's write.
    """

    record = models.OneToOneField(ErasureRecord, on_delete=models.CASCADE, related_name="pending_scan")
    sealed = models.BinaryField()
    people = models.PositiveIntegerField()  # identities sealed: how much of a scan's pass this takes
    queued_at = models.DateTimeField(default=timezone.now)
    # Set by the worker that took it; a claim older than RESIDUE_SCAN_CLAIM_SECONDS is taken again.
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("pending residue scan")

    def __str__(self) -> str:
        return f"Residue scan of erasure #{self.record_id}, queued {self.queued_at:%Y-%m-%d %H:%M}"


class RequestSubmission(models.Model):
    """A request typed into the public page, waiting for its sender to confirm the address.

    It joins the queue (as a DataSubjectRequest) only when the link emailed to the address is
    confirmed; unconfirmed submissions are deleted once their link expires (GDPR Art. 5(1)(e)).
    """

    kind = models.CharField(_("type"), max_length=16, choices=DataSubjectRequest.Kind.choices)
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    details = models.TextField(_("what they ask"), blank=True, max_length=5000)
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)
    jurisdiction = models.CharField(
        _("jurisdiction"), max_length=16, default=default_jurisdiction, validators=[validate_jurisdiction]
    )
    nonce = models.CharField(max_length=32, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    send_claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    request = models.ForeignKey(
        DataSubjectRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("unconfirmed request submission")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} submitted {self.created_at:%Y-%m-%d}"


class ExportBundle(models.Model):
    """A person's data for an access or portability request (GDPR Art. 15, 20): built as a job,
    reviewed (and redacted, with reasons) by an officer, released through a signed, expiring link."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        BUILDING = "building", _("Building")
        REVIEW = "review", _("Ready for review")
        RELEASED = "released", _("Released to the requester")
        FAILED = "failed", _("Failed")

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.PROTECT, related_name="bundles")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveIntegerField(_("models done"), default=0)
    total = models.PositiveIntegerField(_("models to do"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)  # a worker is on it
    # Each redaction: {"section", "row", "reason", "by", "at"}; the snapshot itself stays on disk.
    redactions = models.JSONField(default=list, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    link_nonce = models.CharField(max_length=32, blank=True, editable=False)
    link_digest = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    link_expires_at = models.DateTimeField(null=True, blank=True)
    downloads = models.JSONField(_("downloads"), default=list, blank=True)  # times, nothing else
    # Set by an erasure of the person: the link answers "gone" from then on, and the files go.
    revoked_at = models.DateTimeField(_("link revoked"), null=True, blank=True, editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("data export bundle")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Export for {self.request.reference} ({self.get_status_display()})"


class RequestStatusLink(models.Model):
    """The requester's signed link to follow their request (status, deadline, extension, download).

    Only the nonce and the digest of the link's random part are kept: the link is rebuilt from the
    nonce with SECRET_KEY (core.tokens.derive) for each email, and looked up by its digest. No row
    names the requester; an erasure of the person deletes or revokes it (dsr.privacy).
    """

    request = models.OneToOneField(DataSubjectRequest, on_delete=models.CASCADE, related_name="status_link")
    nonce = models.CharField(max_length=32, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Set when the person's data is erased and the row itself must stay (dsr_requests_pseudonymise).
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("request status link")

    def __str__(self) -> str:
        return f"Status link of {self.request.reference}"


class DownstreamWaiver(models.Model):
    """An officer's decision to close a request without one downstream system's acknowledgement
    (GDPR Art. 17(2), 19: the effort is documented), shown in the compliance report."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="downstream_waivers"
    )
    endpoint = models.ForeignKey("webhooks.Endpoint", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("waived acknowledgement")
        constraints = [models.UniqueConstraint(fields=["request", "endpoint"], name="waiver_once_per_system")]

    def __str__(self) -> str:
        return f"{self.request.reference}: {self.endpoint} waived"


def _proof_upload_to(authority, filename: str) -> str:
    # Nothing the uploader chose (name, extension) reaches the disk: dsr.agents sets the extension.
    return f"dsr-agent-proofs/{secrets.token_hex(12)}{authority.proof_extension}"


class AgentAuthority(models.Model):
    """A request made by an authorised agent for someone else, with the proof of authority they
    uploaded and the person's own confirmation (CCPA Regulations § 7063(a)): until the person
    confirms by the link emailed to them, the request stays unverified and cannot proceed."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for the person's confirmation")
        CONFIRMED = "confirmed", _("Confirmed by the person")
        DENIED = "denied", _("The person said they did not authorise the agent")

    request = models.OneToOneField(DataSubjectRequest, on_delete=models.CASCADE, related_name="agent")
    agent_name = models.CharField(_("agent's name"), max_length=200)
    agent_email = models.EmailField(_("agent's email"))
    proof = models.FileField(_("proof of authority"), upload_to=_proof_upload_to, max_length=300)
    proof_name = models.CharField(_("proof file name as uploaded"), max_length=255)
    proof_extension = models.CharField(max_length=8, editable=False)
    state = models.CharField(_("confirmation"), max_length=16, choices=State.choices, default=State.PENDING)
    # The emailed link: rebuilt from the nonce with SECRET_KEY (core.tokens.derive), found by digest.
    nonce = models.CharField(max_length=32, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(_("link works until"))
    send_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("confirmation asked"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("authorised agent")

    def __str__(self) -> str:
        return f"Agent for {self.request.reference} ({self.get_state_display()})"
