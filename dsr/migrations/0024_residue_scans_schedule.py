"""Scheduled job defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("dsr", "0023_pending_residue_scan"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        # Each erasure nudges a worker; this picks up a nudge the broker lost or a worker that died.
        periodic_task("Residue scans after erasures (every 5 minutes)", "dsr.run_residue_scans", every=5, period="minutes")
    ]
