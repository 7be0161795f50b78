"""Consent change records after an erasure: kept as proof, no longer leading to the person."""

from __future__ import annotations

from django.db.models import Case, QuerySet, Value, When

from consent.audit_chain import subject_hash


def consent_changes_pseudonymise(records) -> int:
    """Strip whom a set of consent change records are about, and their evidence, for an erasure.

    GDPR Art. 17(3)(e) and 7(1): the records stay as proof of what was consented and when, but no
    longer lead to the person. The chain still verifies: the personal fields entered it only
    through personal_digest, which is kept, and the contact through a keyed hash of its id, which
    is kept in subject_tag (consent.audit_chain); without the key nobody can write that mark, so a
    pseudonymisation made by SQL is found. The one rewrite of these append-only rows the database
    allows (its triggers accept exactly this shape), hence the bypass of ConsentChangeQuerySet.update.
    """
    records = records.filter(pseudonymised=False, contact__isnull=False)
    contact_ids = sorted(set(records.values_list("contact_id", flat=True)))
    if not contact_ids:
        return 0
    # One statement: the CASE reads each row's contact before the same UPDATE blanks it.
    tag = Case(*(When(contact_id=pk, then=Value(subject_hash(pk))) for pk in contact_ids), default=Value(""))
    return QuerySet.update(
        records,
        subject_tag=tag,
        contact=None,
        justification="",
        evidence={},
        channel="",
        pseudonymised=True,
    )
