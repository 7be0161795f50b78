"""The database refuses UPDATE and DELETE of consent change records and audit checkpoints
(core/append_only.py), except an erasure's pseudonymisation; and a daily signed checkpoint."""

from django.db import migrations

from core.append_only import append_only, sqlite_unchanged, unchanged_except
from core.beat import periodic_task

# An erasure may blank the contact link and the personal fields, mark the record and leave the
# keyed hash of its contact, once; every other column keeps its value (consent_changes_pseudonymise).
_PSEUDONYMISED = ("contact_id", "channel", "justification", "evidence", "pseudonymised", "subject_tag")
_KEPT = (
    "id",
    "field",
    "purpose_id",
    "old_value",
    "new_value",
    "actor_id",
    "source",
    "effective_at",
    "recorded_at",
    "personal_digest",
    "prev_hash",
    "chain_hash",
)


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0015_reseal_audit_chain"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        append_only(
            "consent_consentchange",
            message="Consent change records are append-only; only an erasure may pseudonymise one.",
            postgresql_update_ok=(
                "OLD.pseudonymised = FALSE AND NEW.pseudonymised = TRUE AND NEW.contact_id IS NULL"
                " AND NEW.channel = '' AND NEW.justification = '' AND NEW.evidence = '{}'::jsonb"
                " AND OLD.subject_tag = '' AND " + unchanged_except(*_PSEUDONYMISED)
            ),
            sqlite_update_ok=(
                "OLD.pseudonymised = 0 AND NEW.pseudonymised = 1 AND NEW.contact_id IS NULL"
                " AND NEW.channel = '' AND NEW.justification = '' AND NEW.evidence = '{}'"
                " AND OLD.subject_tag = '' AND " + sqlite_unchanged(*_KEPT)
            ),
        ),
        append_only("consent_auditcheckpoint", message="Audit checkpoints are append-only."),
        periodic_task("Audit trail checkpoint (daily)", "consent.audit_checkpoint", hour="3", minute="5"),
    ]
