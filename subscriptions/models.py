from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from consent.models import ProcessingRecord, Source
from core.history import AuditedHistory
from core.levels import ConsentLevel
from core.translations import Translated, translations_field


class SubscriptionList(Translated, ProcessingRecord):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("key"), max_length=100, unique=True)
    description = models.TextField(_("what subscribers get"), blank=True)
    translations = translations_field()
    purpose = models.ForeignKey(
        "consent.Purpose",
        verbose_name=_("purpose it needs"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Subscribing also answers yes to this purpose."),
    )
    min_level = models.PositiveSmallIntegerField(
        _("minimum consent level"), choices=ConsentLevel.choices, default=ConsentLevel.SUBSCRIPTIONS
    )
    public = models.BooleanField(_("public"), default=True, help_text=_("Shown in the subscription center."))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = AuditedHistory("purposes_lists")

    class Meta:
        verbose_name = _("subscription list")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending confirmation")
        SUBSCRIBED = "subscribed", _("Subscribed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="subscriptions")
    subscription_list = models.ForeignKey(
        SubscriptionList, on_delete=models.PROTECT, related_name="subscriptions"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(_("source"), max_length=32, choices=Source.choices)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("subscription")
        constraints = [
            models.UniqueConstraint(fields=["contact", "subscription_list"], name="subscription_one_per_list")
        ]
        indexes = [
            models.Index(fields=["subscription_list", "status", "contact"], name="subscription_list_idx")
        ]

    def __str__(self) -> str:
        return f"{self.subscription_list}: {self.get_status_display()}"


class AccessToken(models.Model):
    """A link's secret, stored only as a digest. The link itself carries random text plus a signature."""

    class Kind(models.TextChoices):
        CENTER = "center", _("Subscription center")
        CONFIRM = "confirm", _("Double opt-in confirmation")
        UNSUBSCRIBE = "unsubscribe", _("One-click unsubscribe")
        LEAVE = "leave", _("Stop all marketing")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    digest = models.CharField(max_length=64, unique=True)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    subscription_list = models.ForeignKey(SubscriptionList, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="accesstoken_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} link"

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()


class WordingVersion(models.Model):
    """The exact texts a contact was shown, kept once per version as evidence of what they agreed to."""

    digest = models.CharField(max_length=64, unique=True)
    content = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Wording {self.digest[:12]}"


class ConsentRequest(models.Model):
    """A widening of consent waiting for double opt-in: nothing of it applies before confirmation."""

    # Null only once an erasure pseudonymised a confirmed request (consent_requests_pseudonymise):
    # kept as proof of the confirmation, like the consent change records it led to.
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="consent_requests"
    )
    # expired_links_purge keeps the link of any request; SET_NULL: an erasure deletes the link of a
    # request it keeps pseudonymised.
    token = models.OneToOneField(
        AccessToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="consent_request"
    )
    changes = models.JSONField(
        help_text=_(
            'What confirming applies: {"level": 4, "purposes": {"newsletter": true}, "tracking": true, '
            '"lists": [3], "email": "new@example.org"}'
        )
    )
    wording = models.ForeignKey(WordingVersion, on_delete=models.PROTECT)
    lists = models.ManyToManyField(SubscriptionList, blank=True, related_name="consent_requests")
    # The requested lists the person unticked when confirming: a "no", not a confirmation.
    declined_lists = models.ManyToManyField(
        SubscriptionList, blank=True, related_name="declined_consent_requests"
    )
    on_behalf_of_child = models.BooleanField(default=False, help_text=_("Confirmed by the guardian."))
    origin = models.CharField(
        max_length=32,
        choices=[
            ("center", _("Subscription center")),
            ("signup", _("Sign-up form")),
            ("api", _("API")),
            ("renewal", _("Re-permission before consent lapses")),
        ],
    )
    created_contact = models.BooleanField(default=False, help_text=_("The sign-up created the contact."))
    requested_at = models.DateTimeField(default=timezone.now)
    request_ip = models.GenericIPAddressField(null=True, blank=True)
    request_user_agent = models.CharField(max_length=300, blank=True)
    sent_to = models.EmailField(blank=True)
    # The emailed link is derived from this nonce and SECRET_KEY (core.tokens.derive), so
    # the sending task can rebuild it while neither the queue nor the database holds a working link.
    nonce = models.CharField(max_length=64, blank=True)
    send_claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirm_ip = models.GenericIPAddressField(null=True, blank=True)
    confirm_user_agent = models.CharField(max_length=300, blank=True)
    # After an erasure: who it was about as a keyed hash of the contact's id (consent.audit_chain),
    # the same mark the pseudonymised consent change records carry.
    subject_tag = models.CharField(max_length=64, blank=True, default="", editable=False)
    pseudonymised = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("double opt-in request")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"Request #{self.pk} ({'confirmed' if self.confirmed_at else 'pending'})"
