"""Scheduled job defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("imports", "0002_schedules"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task(
            "Import uploads: delete past retention (daily)", "imports.purge_uploads", hour="4", minute="30"
        ),
    ]
