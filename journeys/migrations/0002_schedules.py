from django.conf import settings
from django.db import migrations
from django.utils import timezone

RUN = "Customer journeys: enrol and advance (every 5 minutes)"
SCORE = "Lead scores (nightly)"


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_5, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.update_or_create(
        name=RUN, defaults={"task": "journeys.run", "interval": every_5, "crontab": None, "enabled": True}
    )
    PeriodicTask.objects.update_or_create(
        name=SCORE, defaults={"task": "journeys.score_leads", "crontab": nightly, "interval": None, "enabled": True}
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[RUN, SCORE]).delete()


class Migration(migrations.Migration):
    dependencies = [("journeys", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
