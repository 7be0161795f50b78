"""Scheduled jobs live in code (DESIGN.md, django-celery-beat pitfalls), created idempotently here."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.update_or_create(
        name="Consent level snapshot (nightly)",
        defaults={"task": "consent.snapshot_levels", "crontab": nightly, "enabled": True},
    )
    # Tell a running beat that the schedule changed (bulk edits skip its signal).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name="Consent level snapshot (nightly)").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
