"""Find everything held about a person, across every model in the personal-data registry."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.db.models import QuerySet

from contacts.models import Contact
from contacts.selectors import contact_search
from core import registry


@dataclass
class Finding:
    model: str
    fields: tuple[str, ...]
    erasure: str
    legal_hold: str
    rows: int


def find_contacts(term: str) -> QuerySet[Contact]:
    """Contacts matching a full email, a phone number in any notation, or a name."""
    return contact_search(Contact.objects.all(), term) if term.strip() else Contact.objects.none()


def discover(contacts) -> list[Finding]:
    """Per registered model (and its history table), how many rows belong to these contacts."""
    ids = [c.pk for c in contacts]
    if not ids:
        return []
    findings = []
    for entry in registry.entries():
        name = str(entry.model._meta.verbose_name).capitalize()
        rows = entry.rows_for_ids(ids).count()
        findings.append(Finding(name, entry.fields, entry.erasure.label, entry.legal_hold, rows))
        history_rows = _history_count(entry, ids)
        if history_rows:
            findings.append(
                Finding(f"{name} (history)", entry.fields, "purged with the rows", "", history_rows)
            )
    findings += _file_findings(contacts, ids)
    return [f for f in findings if f.rows]


def _file_findings(contacts, ids) -> list[Finding]:
    """Registered files naming these people (bundles, exports, uploads); "rows" counts files."""
    from dsr.residue import Identity

    identities = [Identity(c.email, c.phone, c.first_name, c.last_name) for c in contacts]
    findings = []
    with transaction.atomic():  # finders lock what they find (for the erasure); released at once here
        for entry in registry.file_entries():
            found = len(entry.find(ids, identities))
            findings.append(Finding(f"{entry.name} (files)", (), entry.how, "", found))
    return findings


def _history_count(entry, ids) -> int:
    """simple-history keeps full snapshots, personal data included: erasure must reach them too."""
    history = getattr(entry.model, "history", None)
    if history is None:
        return 0
    if not entry.contact_path:
        return history.filter(id__in=ids).count()
    try:
        history.model._meta.get_field(entry.contact_path)
    except FieldDoesNotExist:
        return 0  # reached through a relation history does not copy (e.g. many-to-many)
    return history.filter(**{f"{entry.contact_path}__in": ids}).count()
