"""The imports' scheduled jobs, defined in code (DESIGN.md, django-celery-beat pitfalls)."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

REFRESH = "Import sources refresh (nightly)"
RESUME = "Import runs: resume stalled (every 10 minutes)"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="1", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    every_ten, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.update_or_create(
        name=REFRESH, defaults={"task": "imports.refresh_sources", "crontab": nightly, "enabled": True}
    )
    PeriodicTask.objects.update_or_create(
        name=RESUME, defaults={"task": "imports.resume_stalled", "interval": every_ten, "enabled": True}
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[REFRESH, RESUME]).delete()


class Migration(migrations.Migration):
    dependencies = [("imports", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
