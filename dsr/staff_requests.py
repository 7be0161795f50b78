"""Data requests from members of staff about the logs the system keeps on them (GDPR Art. 15),
and what deleting a staff account does to those logs.

Logs are a factual record of what happened: they are exported on request, never rectified or
restricted, and when an account is deleted the person behind it is replaced by a stable pseudonym,
so every log still adds up (the same pseudonym everywhere) but no longer names anyone.
"""

from __future__ import annotations

import json

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from consent.models import ConsentChange
from staff.models import AccessLogEntry
from staff.pseudonyms import staff_pseudonym

LOGS_ARE_FACTS = _(
    "Log entries are a factual record of what happened and when; they are not rectified or restricted "
    "(GDPR Art. 5(2), 17(3)(b) and (e)). You can receive a copy of everything logged about you."
)


def staff_log_sections(user) -> list[dict]:
    """Everything the system logged about one member of staff, as (title, rows) sections."""
    from dsr.models import DataSubjectRequest

    access = [
        {
            "at": e.at.isoformat(),
            "action": e.get_action_display(),
            "contacts": e.contact_count,
            "ip": e.ip,
            "request_id": e.request_id,
            "path": e.path,
        }
        for e in AccessLogEntry.objects.filter(user=user).order_by("at").iterator()
    ]
    admin_log = [
        {
            "at": e.action_time.isoformat(),
            "action": {1: "added", 2: "changed", 3: "deleted"}.get(e.action_flag, str(e.action_flag)),
            "object_type": str(e.content_type) if e.content_type_id else "",
            "object_id": e.object_id,
        }
        for e in LogEntry.objects.filter(user=user).select_related("content_type").order_by("action_time")
    ]
    consent = [
        {
            "recorded_at": c.recorded_at.isoformat(),
            "contact_id": c.contact_id,
            "field": c.field,
            "from": c.old_value,
            "to": c.new_value,
            "source": c.source,
            "justification": c.justification,
        }
        for c in ConsentChange.objects.filter(actor=user).order_by("id").iterator()
    ]
    handled = [
        {
            "at": h.history_date.isoformat(),
            "request": h.reference,
            "type": h.kind,
            "event": h.history_change_reason
            or {"+": "created", "~": "changed", "-": "deleted"}[h.history_type],
        }
        for h in DataSubjectRequest.history.filter(history_user=user).order_by("history_date")
    ]
    return [
        {"section": "access_log", "title": "Access log", "rows": access},
        {"section": "admin_log", "title": "Admin log", "rows": admin_log},
        {"section": "consent_changes_made", "title": "Consent changes made", "rows": consent},
        {"section": "requests_handled", "title": "Requests handled", "rows": handled},
    ]


def staff_log_json(user) -> str:
    sections = staff_log_sections(user)
    return json.dumps(
        {
            "account": user.get_username(),
            "note": str(LOGS_ARE_FACTS),
            **{s["section"]: s["rows"] for s in sections},
        },
        indent=2,
        ensure_ascii=False,
    )


@transaction.atomic
def staff_account_delete(*, user, actor=None) -> str:
    """Delete a staff account by turning it into its pseudonym. Returns the pseudonym.

    The account row stays (every log points at it, and the consent audit chain sealed its id), but
    its username becomes the pseudonym and its name, email, password, roles and rights go. Admin
    log lines about the account, and redactions it signed, are rewritten to the pseudonym too.
    """
    from dsr.models import ExportBundle

    if actor is not None and actor.pk == user.pk:
        raise ValidationError(_("You cannot delete your own account."))
    locked = get_user_model().objects.select_for_update().get(pk=user.pk)
    old_username, pseudonym = locked.get_username(), staff_pseudonym(locked)
    setattr(locked, locked.USERNAME_FIELD, pseudonym)
    locked.first_name = locked.last_name = locked.email = ""
    locked.is_active = locked.is_staff = locked.is_superuser = False
    locked.set_unusable_password()  # also ends the account's sessions (their hash no longer fits)
    locked.save()
    locked.groups.clear()
    locked.user_permissions.clear()
    user_type = ContentType.objects.get_for_model(locked)
    LogEntry.objects.filter(content_type=user_type, object_id=str(locked.pk)).update(
        object_repr=pseudonym, change_message=""
    )
    # Redactions an officer signed name them; rewrite those, in the bundles and their history.
    for rows in (ExportBundle.objects.all(), ExportBundle.history.all()):
        for row in rows.exclude(redactions=[]).iterator():
            if any(r.get("by") == old_username for r in row.redactions):
                for r in row.redactions:
                    r["by"] = pseudonym if r.get("by") == old_username else r.get("by")
                type(row).objects.filter(pk=row.pk).update(redactions=row.redactions)
    return pseudonym
