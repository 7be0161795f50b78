"""Scheduled job defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("dsr", "0021_agent_authority"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task(
            "Sign-ups nobody confirmed: erase (daily)", "dsr.purge_unconfirmed_signups", hour="4", minute="20"
        )
    ]
