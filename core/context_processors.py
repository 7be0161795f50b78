"""What every page's template may show: the organisation's details (GDPR Art. 13(1)(a)-(b))."""

from django.utils.functional import SimpleLazyObject

from core.models import ComplianceSettings


def organisation(request) -> dict:
    """`organisation`: name, address, privacy_email and dpo, only those set by the officer.

    Lazy: the settings row is read only by a page that shows it (the public footer), not by every
    admin page that renders a template."""
    return {"organisation": SimpleLazyObject(lambda: ComplianceSettings.load().organisation())}
