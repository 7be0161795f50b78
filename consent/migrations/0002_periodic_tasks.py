"""Scheduled job defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task("Consent level snapshot (nightly)", "consent.snapshot_levels", hour="2", minute="15")
    ]
