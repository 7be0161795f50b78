"""Scheduled job defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("dsr", "0002_datasubjectrequest_overdue_since_and_more"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task("Data subject request deadline reminders (daily)", "dsr.deadline_reminders", hour="7", minute="0")
    ]
