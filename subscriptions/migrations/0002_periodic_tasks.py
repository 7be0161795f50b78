"""Scheduled job defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task("Purge unconfirmed sign-ups and expired links (hourly)", "subscriptions.purge_unconfirmed", every=1, period="hours")
    ]
