"""The database refuses UPDATE and DELETE of erasure records (core/append_only.py), except the
one write dsr.erasure makes after the erasure: the residue scan's result, once."""

from django.db import migrations

from core.append_only import append_only, sqlite_unchanged, unchanged_except


class Migration(migrations.Migration):
    dependencies = [("dsr", "0010_erasure_ledger_entry")]

    operations = [
        append_only(
            "dsr_erasurerecord",
            message="Erasure records are append-only; only the residue scan's result is added, once.",
            postgresql_update_ok="OLD.residue_clean IS NULL AND " + unchanged_except("residue", "residue_clean"),
            sqlite_update_ok="OLD.residue_clean IS NULL AND "
            + sqlite_unchanged("id", "request_id", "performed_at", "performed_by_id", "contacts_erased", "receipt"),
        )
    ]
