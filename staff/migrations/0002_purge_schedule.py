"""Scheduled job defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task("Purge the staff access log past retention (daily)", "staff.purge_access_log", hour="3", minute="30")
    ]
