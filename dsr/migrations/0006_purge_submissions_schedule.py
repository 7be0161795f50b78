"""Scheduled job defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("dsr", "0005_request_submission"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task("Data subject request submissions: purge unconfirmed (hourly)", "dsr.purge_submissions", every=1, period="hours")
    ]
