from django.conf import settings
from django.db import migrations
from django.utils import timezone

NAME = "Data subject request deadline reminders (daily)"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="7", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    PeriodicTask.objects.update_or_create(
        name=NAME, defaults={"task": "dsr.deadline_reminders", "crontab": daily, "enabled": True}
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("dsr", "0002_datasubjectrequest_overdue_since_and_more"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
