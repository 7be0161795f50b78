"""The database refuses UPDATE and DELETE of access log entries (core/append_only.py), except
what staff.access_log does: record_access setting the contact count of the entry it just wrote,
and access_log_purge deleting entries past the retention period of the compliance settings.

On SQLite the trigger cannot read the settings: a trigger naming another table breaks SQLite's
rebuild of that table in any later migration. There entries younger than the shortest retention
the settings accept (ACCESS_LOG_MIN_RETENTION_DAYS) cannot be deleted."""

from django.db import migrations

from core.append_only import append_only, sqlite_unchanged, unchanged_except

_MIN_DAYS = 30  # consent.models.ACCESS_LOG_MIN_RETENTION_DAYS when this was written
_RETENTION_DAYS = (
    "COALESCE((SELECT access_log_retention_days FROM consent_compliancesettings WHERE id = 1), 730)"
)


class Migration(migrations.Migration):
    dependencies = [("staff", "0007_alter_accesslogentry_action"), ("consent", "0012_interaction_retention")]

    operations = [
        append_only(
            "staff_accesslogentry",
            message="The staff access log is append-only; entries leave only after the retention period.",
            postgresql_update_ok="OLD.contact_count = 0 AND " + unchanged_except("contact_count"),
            postgresql_delete_ok=f"OLD.at < now() - make_interval(days => {_RETENTION_DAYS})",
            sqlite_update_ok="OLD.contact_count = 0 AND "
            + sqlite_unchanged("id", "user_id", "action", "at", "request_id", "ip", "path"),
            sqlite_delete_ok=f"OLD.\"at\" < strftime('%Y-%m-%d %H:%M:%f', 'now', '-{_MIN_DAYS} days')",
        )
    ]
