from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.history import AuditedHistory


class AccessLogEntry(models.Model):
    """One staff action that showed or exported personal data: who, when, what, from where.

    Holds contact ids, never copies of their data. Written by staff.access_log.record_access only.
    """

    class Action(models.TextChoices):
        VIEW = "view", _("Viewed a contact")
        HISTORY = "history", _("Viewed a contact's history")
        INSIGHTS = "insights", _("Viewed a contact's marketing insights")
        EXPORT_CONTACTS = "export_contacts", _("Exported contacts")
        EXPORT_CONSENT = "export_consent", _("Exported consent change records")
        DISCOVER = "discover", _("Searched for a person's data")
        EXPORT_BUNDLE = "export_bundle", _("Built or reviewed a data subject's export")
        API_READ = "api_read", _("Read contacts through the API")
        # The entry's path names the member of staff: /admin/staff/second-factor/<user id>/reset/
        SECOND_FACTOR_RESET = "second_factor_reset", _("Reset a member of staff's second factor")
        # Single sign-on (staff.sso): a refusal's path ends in its reason code
        # (/admin/sso/callback/?refused=<reason>), never in a claim of the provider.
        SSO_LOGIN = "sso_login", _("Signed in through single sign-on")
        SSO_REFUSED = "sso_refused", _("Single sign-on refused")
        # The admin's login form (staff.sign_ins); a refusal's path ends in ?refused=password.
        PASSWORD_LOGIN = "password_login", _("Signed in with a password")
        PASSWORD_REFUSED = "password_refused", _("Password refused")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    contact_count = models.PositiveIntegerField(_("contacts"), default=0)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="accesslog_user_idx")]
        permissions = [
            ("export_accesslogentry", "Can export the access log"),
            ("answer_staff_request", "Can export everything logged about a member of staff"),
            ("reset_second_factor", "Can reset another member of staff's second factor"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_action_display()} ({self.contact_count})"


class AccessedContact(models.Model):
    """Which contacts one access log entry touched (bulk-written for exports)."""

    entry = models.ForeignKey(AccessLogEntry, on_delete=models.CASCADE, related_name="contacts")
    # No database constraint and no cascade: after an erasure the log still says an access happened,
    # naming only an id that no longer leads to anyone.
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["contact", "entry"], name="accessedcontact_contact_idx")]

    def __str__(self) -> str:
        return f"#{self.contact_id}"


class ApiKey(models.Model):
    """A key for one API client, acting as its staff user (whose role sets what it may do).

    Only a SHA-256 of the secret is stored; the key is shown once, when it is created.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, help_text=_("e.g. “web shop sync”"))
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    # Never the secret's hash; nor the last use, rewritten by every request (no change of the key).
    history = AuditedHistory("api_keys", excluded_fields=["key_hash", "last_used_at"])

    class Meta:
        verbose_name = _("API key")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class StaffIdentity(models.Model):
    """The identity provider's account a member of staff signs in with (staff.sso): matched by
    issuer and subject, never by email, so an address changed at the provider cannot take over
    another member's account."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    issuer = models.CharField(_("identity provider"), max_length=300)
    subject = models.CharField(
        _("subject at the provider"), max_length=255, help_text=_("The provider's id of the account.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("single sign-on identity")
        verbose_name_plural = _("single sign-on identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="staffidentity_issuer_subject"),
            models.UniqueConstraint(fields=["user", "issuer"], name="staffidentity_user_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.issuer}"
