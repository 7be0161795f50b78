from django.utils.translation import gettext_noop

from core.registry import Erasure, register
from staff.models import AccessedContact


def staff_accesses(rows) -> list[dict]:
    """For the person's own export: when staff looked at or exported their record, and how."""
    from core.models import ComplianceSettings
    from staff.pseudonyms import staff_pseudonym

    pseudonymise = ComplianceSettings.load().export_pseudonymise_staff
    return [
        {
            "when": r.entry.at,  # the bundle gives it in the person's time zone
            "action": r.entry.get_action_display(),
            "staff": staff_pseudonym(r.entry.user) if pseudonymise else r.entry.user.get_username(),
        }
        for r in rows.select_related("entry__user").order_by("entry__at")
    ]


register(
    AccessedContact,
    fields=["contact"],
    contact_path="contact",
    erasure=Erasure.KEEP,
    legal_hold=gettext_noop(
        "Accountability (GDPR Art. 5(2)): the record that staff accessed someone; it holds only an id."
    ),
    export=staff_accesses,
    kept_until=gettext_noop("the access log's retention period (compliance settings; 2 years by default)"),
)
