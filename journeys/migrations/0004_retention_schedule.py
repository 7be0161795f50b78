"""Scheduled job defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("journeys", "0003_forwarded_email"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task(
            "Journeys: forget old forwards and interactions past retention (daily)",
            "journeys.purge_retention",
            hour="4",
            minute="0",
        )
    ]
