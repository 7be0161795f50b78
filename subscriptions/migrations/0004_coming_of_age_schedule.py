"""Scheduled job defined in code (core/beat.py)."""

from django.db import migrations

from core.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0003_consentrequest_lists_consentrequest_nonce_and_more"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [
        periodic_task("Children who came of age (daily)", "subscriptions.coming_of_age", hour="3", minute="0")
    ]
