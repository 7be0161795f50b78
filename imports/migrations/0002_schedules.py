"""Scheduled jobs defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("imports", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task("Import sources refresh (nightly)", "imports.refresh_sources", hour="1", minute="30"),
        periodic_task("Import runs: resume stalled (every 10 minutes)", "imports.resume_stalled", every=10, period="minutes"),
    ]
