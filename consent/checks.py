from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_audit_chain_key(app_configs=None, **kwargs):
    """consent.W001: a derived chain key breaks verification of all records when SECRET_KEY rotates."""
    if getattr(settings, "AUDIT_CHAIN_KEY_DERIVED", False):
        return [
            checks.Warning(
                "AUDIT_CHAIN_KEY is not set, so the consent audit chain is keyed from SECRET_KEY.",
                hint="Set AUDIT_CHAIN_KEY to a long random value and never change it.",
                id="consent.W001",
            )
        ]
    return []
