"""The demo organisation's records of processing (GDPR Art. 30): every item filled in, so the
register's export shows what a complete one looks like. Only blank fields are filled: an officer's
own entries survive a second run. Runs without contacts (fast enough for tests)."""

from __future__ import annotations

from django.db import transaction

from consent.models import LegalBasis, Purpose, TransferSafeguard
from core.models import ComplianceSettings
from subscriptions.models import SubscriptionList

ORGANISATION = {
    "organisation_name": "Demo Shop GmbH",
    "controller_address": "Musterstraße 1, 10115 Berlin, Germany",
    "privacy_contact_email": "privacy@demo-shop.example",
    "dpo_contact": "Dr. Dana Schutz, dpo@demo-shop.example, Musterstraße 1, 10115 Berlin",
    # The shop also sells in the UK: its representative there (UK GDPR Art. 27).
    "representative_name": "Demo Representative Ltd",
    "representative_address": "1 Example Street, London EC1A 1AA, United Kingdom",
    "representative_email": "uk-representative@demo-shop.example",
}
SECURITY = (
    "TLS in transit and encrypted disks at rest; access by role with two-factor sign-in; "
    "staff access log; daily encrypted backups kept 30 days; processors bound by Art. 28 contracts."
)
MAIL_PROVIDER = "Email service provider (processor, EU)"
US_CRM = "USA: CRM and analytics provider (processor)"
# The items each purpose (by key) records; a subscription list records those of its purpose.
RECORDS = {
    "newsletter": {
        "data_subject_categories": "Newsletter subscribers (customers and prospects)",
        "data_categories": "Name, email address, language, consent answers, opens and clicks",
        "recipients": MAIL_PROVIDER,
        "transfer_countries": "",
        "transfer_safeguard": TransferSafeguard.NONE,
        "consent_validity_months": 24,
        "inactivity_months": 36,
    },
    "product-updates": {
        "data_subject_categories": "Customers",
        "data_categories": "Name, email address, products bought",
        "recipients": f"{MAIL_PROVIDER}; customer service team",
        "transfer_countries": US_CRM,
        "transfer_safeguard": TransferSafeguard.SCC,
        "inactivity_months": 24,
        "hold_basis": LegalBasis.LEGAL_OBLIGATION,
        "hold_months": 120,
        "retention": "Invoices are kept 10 years under German tax law (§ 147 AO).",
    },
    "events": {
        "data_subject_categories": "Customers and prospects near an event",
        "data_categories": "Name, email address, city, event registrations",
        "recipients": f"{MAIL_PROVIDER}; event venue (guest list)",
        "transfer_countries": "",
        "transfer_safeguard": TransferSafeguard.NONE,
        "consent_validity_months": 12,
        "inactivity_months": 24,
    },
    "partner-offers": {
        "data_subject_categories": "Customers who asked for partner offers",
        "data_categories": "Name, email address, interests",
        "recipients": f"{MAIL_PROVIDER}; partners receive no personal data",
        "transfer_countries": "United Kingdom: our representative's mailbox",
        "transfer_safeguard": TransferSafeguard.ADEQUACY,
        "consent_validity_months": 12,
        "inactivity_months": 12,
    },
}
LIST_PURPOSE = {
    "monthly-news": "newsletter",
    "product-updates": "product-updates",
    "event-invitations": "events",
}


def _fill_blanks(record, values: dict) -> bool:
    """Set each field still blank (None or "") to its demo value; True when anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(record, name) in (None, "") and value not in (None, ""):
            setattr(record, name, value)
            changed = True
    return changed


@transaction.atomic
def ensure_records() -> None:
    """Fill the organisation's details and every demo purpose's and list's Art. 30 record."""
    settings = ComplianceSettings.load()
    if _fill_blanks(settings, ORGANISATION):
        settings._change_reason = "demo data"
        settings.save()
    records = [(p, RECORDS.get(p.slug)) for p in Purpose.objects.all()]
    records += [(lst, RECORDS.get(LIST_PURPOSE.get(lst.slug, ""))) for lst in SubscriptionList.objects.all()]
    for record, values in records:
        if values is not None and _fill_blanks(record, {"security_measures": SECURITY, **values}):
            record.full_clean()
            record._change_reason = "demo data"
            record.save()
