from django.utils.translation import gettext_noop

from consent.models import ConsentChange, PurposeConsent
from consent.services import consent_changes_pseudonymise
from core.registry import Erasure, register


def consent_changes_in_words(rows) -> list[dict]:
    """For the person's own export: each change with its codes and, beside them, in words
    ("Consent given": "3 Subscriptions" -> "4 Marketing", the purpose by name, the source)."""
    out = []
    for change in rows.select_related("purpose").order_by("pk"):
        purpose = change.purpose if change.purpose_id else None
        out.append(
            {
                "id": change.pk,
                "contact_id": change.contact_id,
                "field": change.field,
                "field_name": ConsentChange.describe_field(change.field, purpose),
                "purpose_id": change.purpose_id,
                "purpose": purpose.name if purpose else None,
                "old_value": change.old_value,
                "old_value_name": change.old_display,
                "new_value": change.new_value,
                "new_value_name": change.new_display,
                "actor_id": change.actor_id,
                "source": change.source,
                "source_name": change.get_source_display(),
                "channel": change.channel,
                "justification": change.justification,
                "evidence": change.evidence,
                "effective_at": change.effective_at,
                "recorded_at": change.recorded_at,
                "pseudonymised": change.pseudonymised,
            }
        )
    return out


register(
    PurposeConsent,
    fields=["granted", "changed_at", "source"],
    contact_path="contact",
    erasure=Erasure.DELETE,
)
# GDPR Art. 7(1) and 17(3)(e): proof of consent outlives the person's identity, so erasure keeps
# the record and strips what identifies them (evidence such as IP and user agent, the free text).
register(
    ConsentChange,
    fields=["contact", "justification", "evidence"],
    contact_path="contact",
    erasure=Erasure.ANONYMISE,
    legal_hold=gettext_noop("Proof of consent (GDPR Art. 7(1)), kept without whom it was about."),
    kept_until=gettext_noop("as long as consent given or withdrawn must be demonstrable (limitation period)"),
    anonymise=consent_changes_pseudonymise,
    export=consent_changes_in_words,
)
