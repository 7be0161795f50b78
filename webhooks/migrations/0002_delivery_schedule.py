"""Retries of webhook deliveries, scheduled in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        # Deliveries start right after each commit; this picks up retries and what a lost message left.
        periodic_task("Webhook deliveries due", "webhooks.deliver_due", every=1, period="minutes", expire_seconds=50)
    ]
