"""The bulk rectification workbook (GDPR Art. 16): which columns it has, how a row names its
contact, how the rows are written. The contact list exports it (consent.admin.contacts); the
officer corrects it in Excel; imports.rectification reads it back through the same services as a
hand edit.

A row names its contact by a signed reference ("C123:…"), not by an address: it is no personal
data, and a typo in it is refused rather than rectifying somebody else."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from django.core import signing
from django.db.models import OuterRef, QuerySet, Subquery

from consent.models import Purpose, PurposeConsent

REFERENCE = "Reference"
# Column → Contact field, in the order the sheet shows them.
PROFILE_COLUMNS = {
    "First name": "first_name",
    "Last name": "last_name",
    "Email": "email",
    "Phone": "phone",
    "Country": "country",
    "Language": "language",
}
LEVEL = "Consent level"
TRACKING = "Tracking"
PURPOSE_COLUMN = re.compile(r"^Purpose: .*\(([^()]+)\)$")

_SIGNER = signing.Signer(salt="consent.rectification_sheet")


def contact_reference(pk: int) -> str:
    return _SIGNER.sign(f"C{pk}")


def contact_of_reference(text: str) -> int | None:
    """The contact id a reference names, or None when it is not one this product signed."""
    try:
        value = _SIGNER.unsign(text.strip())
    except signing.BadSignature:
        return None
    return int(value[1:]) if value[:1] == "C" and value[1:].isdigit() else None


def purpose_column(purpose: Purpose) -> str:
    return f"Purpose: {purpose.name} ({purpose.slug})"


def sheet_header(purposes: Iterable[Purpose]) -> list[str]:
    return [REFERENCE, *PROFILE_COLUMNS, LEVEL, TRACKING, *(purpose_column(p) for p in purposes)]


def sheet_rows(queryset: QuerySet, purposes: list[Purpose]) -> Iterator[list]:
    """One row per contact, values as stored, so a row nobody touched reads back unchanged."""
    answers = {
        f"purpose_{p.pk}": Subquery(
            PurposeConsent.objects.filter(contact=OuterRef("pk"), purpose=p).values("granted")[:1]
        )
        for p in purposes
    }
    for contact in queryset.annotate(**answers).iterator(chunk_size=2000):
        row = [contact_reference(contact.pk)]
        row += [getattr(contact, field) for field in PROFILE_COLUMNS.values()]
        row += [contact.consent_given, "Allow" if contact.tracking_allowed else "Do not allow"]
        for p in purposes:
            value = getattr(contact, f"purpose_{p.pk}")
            row.append("" if value is None else ("Yes" if value else "No"))
        yield row
