"""The three staff roles as Django groups, with their permissions kept in code.

sync_roles() is idempotent: it runs after every migrate and from `manage.py setup_roles`, and
sets each group's permissions to exactly what is listed here, so a hand edit cannot drift.
"""

from __future__ import annotations

from fnmatch import fnmatch

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from core.models import ComplianceSettings

PRIVACY_OFFICER = "Privacy officer"
MARKETER = "Marketer"
AUDITOR = "Auditor"
ROLES = (PRIVACY_OFFICER, MARKETER, AUDITOR)

PRODUCT_APPS = (
    "core",
    "contacts",
    "consent",
    "subscriptions",
    "journeys",
    "dsr",
    "staff",
    "imports",
    "webhooks",
    "mailsignals",
    "breaches",
)
# Append-only evidence: no role may add, change or delete consent change records or access log entries.
NOBODY = {
    f"{app}.{verb}_{model}"
    for app, model in (
        ("consent", "consentchange"),
        ("staff", "accesslogentry"),
        ("staff", "accessedcontact"),
    )
    for verb in ("add", "change", "delete")
} | {"contacts.add_suppressedidentity", "contacts.change_suppressedidentity"}  # only erasure adds
# The breach register documents every breach for good (GDPR Art. 33(5)); who was told of one is
# written only by the notification (breaches.services).
NOBODY |= {"breaches.delete_breach"} | {
    f"breaches.{verb}_breachnotice" for verb in ("add", "change", "delete")
}
# A person leaves through erasure (dsr), which suppresses and proves it: nobody deletes a contact.
NOBODY |= {"contacts.delete_contact"}
# Linking a single sign-on identity opens an account to whoever holds it at the provider: like
# managing users, that is for superusers.
NOBODY |= {f"staff.{verb}_staffidentity" for verb in ("add", "change", "delete", "view")}

# Seeing what a person did (opens, clicks, visits) is for officers; marketers see it only while an
# officer switches it on in the compliance settings (may_view_insights), so the grant has a history.
INSIGHTS_PERMISSION = "journeys.view_marketing_insights"
OFFICER_ONLY = {INSIGHTS_PERMISSION}

OFFICER_PERMISSIONS = {f"{app}.*" for app in PRODUCT_APPS} | {"django_celery_beat.view_*"}
MARKETER_PERMISSIONS = {
    "contacts.view_contact",
    "contacts.add_contact",
    "contacts.change_contact",
    "contacts.export_contact",
    "consent.view_purpose",
    "consent.view_purposeconsent",
    "consent.view_consentchange",
    "subscriptions.*subscriptionlist",
    "subscriptions.view_subscription",
    "subscriptions.change_subscription",
    "journeys.*",
}
AUDITOR_PERMISSIONS = {
    "webhooks.view_delivery",  # which downstream system confirmed what; not the systems' secrets
    "contacts.view_deliverability",
    "contacts.view_legalhold",
    "mailsignals.view_mailsignal",
    "contacts.view_contact",
    "contacts.view_sensitive_contact",
    "consent.view_*",
    "consent.export_consentchange",
    "consent.export_processing_register",  # the records of processing (GDPR Art. 30)
    "core.view_*",
    "staff.view_accesslogentry",
    "staff.export_accesslogentry",
    "staff.view_apikey",  # which clients exist and their history; never a secret
    "subscriptions.view_*",
    "journeys.view_*",
    "dsr.view_*",
    "imports.view_*",
    "breaches.view_*",
    "django_celery_beat.view_*",
}


def _expand(patterns: set[str], available: set[str]) -> set[str]:
    chosen = set()
    for pattern in patterns:
        if "*" in pattern:
            chosen |= {name for name in available if fnmatch(name, pattern)}
        elif pattern in available:
            chosen.add(pattern)
    # History rows are written by simple-history alone: nobody adds, edits or deletes them.
    history_writes = {n for n in chosen if ".view_" not in n and "_historical" in n}
    return chosen - NOBODY - history_writes


def role_permissions() -> dict[str, set[str]]:
    available = {
        f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")
    }
    return {
        PRIVACY_OFFICER: _expand(OFFICER_PERMISSIONS, available),
        MARKETER: _expand(MARKETER_PERMISSIONS, available) - OFFICER_ONLY,
        AUDITOR: _expand(AUDITOR_PERMISSIONS, available) - OFFICER_ONLY,
    }


def privacy_officers() -> list:
    """The active privacy officers who can be emailed: who hears of what needs an officer."""
    from django.contrib.auth import get_user_model

    return list(
        get_user_model().objects.filter(groups__name=PRIVACY_OFFICER, is_active=True).exclude(email="")
    )


def has_role(user) -> bool:
    """Whether `user` holds one of the roles (or is a superuser): staff without a role read nothing,
    not even the API's schema."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_has_role", None)
    if cached is None:
        cached = user._has_role = user.groups.filter(name__in=ROLES).exists()
    return cached


def may_view_insights(user) -> bool:
    """Whether `user` may see contacts' marketing insights: the permission (officers), or a marketer
    while the compliance setting an officer controls is on (its history records who turned it on)."""
    if not has_role(user):
        return False
    if user.has_perm(INSIGHTS_PERMISSION):
        return True
    return user.groups.filter(name=MARKETER).exists() and ComplianceSettings.load().marketers_see_insights


@transaction.atomic
def sync_roles() -> dict[str, int]:
    """Create the role groups and set their permissions to the lists above. Returns counts per role."""
    by_name = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type")
    }
    counts = {}
    for role, names in role_permissions().items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set([by_name[name] for name in names])
        counts[role] = len(names)
    return counts
