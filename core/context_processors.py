"""What every page's template may show: the organisation's details (GDPR Art. 13(1)(a)-(b)) and
its face (name, logo, colour)."""

from django.utils.functional import SimpleLazyObject

from core.models import ComplianceSettings


def organisation(request) -> dict:
    """`organisation`: name, address, privacy_email, dpo and privacy_policy, only those set by the
    officer; `brand`: name, colour, custom_colour and logo_url for the header;
    `data_protection_tools`: whether the consent and data request areas are shown (menus, links).

    Lazy: the settings row is read only by a page that shows it (the public layout), not by every
    admin page that renders a template."""
    row = SimpleLazyObject(ComplianceSettings.load)  # one query for both
    return {
        "organisation": SimpleLazyObject(lambda: row.organisation()),
        "brand": SimpleLazyObject(lambda: row.brand()),
        "data_protection_tools": SimpleLazyObject(lambda: row.data_protection_tools_enabled),
    }
