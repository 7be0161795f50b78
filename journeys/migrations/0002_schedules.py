"""Scheduled jobs defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("journeys", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task("Customer journeys: enrol and advance (every 5 minutes)", "journeys.run", every=5, period="minutes"),
        periodic_task("Lead scores (nightly)", "journeys.score_leads", hour="2", minute="30"),
    ]
