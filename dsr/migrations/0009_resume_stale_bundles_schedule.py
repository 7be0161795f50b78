"""Scheduled job defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("dsr", "0008_bundle_heartbeat"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task(
            "Data export bundles: resume builds a worker dropped (every 5 minutes)",
            "dsr.resume_stale_bundles",
            every=5,
            period="minutes",
        )
    ]
