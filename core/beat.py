"""Periodic tasks are defined in code, by migrations (DESIGN.md: never by hand in the admin).

`periodic_task(...)` is the one operation those migrations use: it creates or updates the
schedule and the task (idempotent), tells running beats that the schedule changed, and removes
the task when the migration is reversed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def periodic_task(
    name: str,
    task: str,
    *,
    every: int = 0,
    period: str = "",
    hour: str = "",
    minute: str = "0",
    expire_seconds: int | None = None,
) -> migrations.RunPython:
    """Every `every` `period` (e.g. 5, "minutes"), or daily at hour:minute in TIME_ZONE.
    expire_seconds: a message not started by then is dropped (for tasks only worth doing now)."""
    if bool(every) == bool(hour):
        raise ValueError("give either every/period or a daily hour")

    def create(apps, schema_editor):
        beat = "django_celery_beat"
        if every:
            schedule, _ = apps.get_model(beat, "IntervalSchedule").objects.get_or_create(
                every=every, period=period
            )
            when = {"interval": schedule, "crontab": None}
        else:
            schedule, _ = apps.get_model(beat, "CrontabSchedule").objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone=settings.TIME_ZONE,
            )
            when = {"crontab": schedule, "interval": None}
        apps.get_model(beat, "PeriodicTask").objects.update_or_create(
            name=name, defaults={"task": task, "enabled": True, "expire_seconds": expire_seconds, **when}
        )
        # Beat reloads its schedule when this timestamp moves (PeriodicTasks.update_changed()).
        apps.get_model(beat, "PeriodicTasks").objects.update_or_create(
            ident=1, defaults={"last_update": timezone.now()}
        )

    def remove(apps, schema_editor):
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()

    return migrations.RunPython(create, remove)


def task_renamed(old: str, new: str) -> migrations.RunPython:
    """Point every schedule of the task `old` at `new` (a task renamed in code), and back when the
    migration is reversed. Beat reloads (PeriodicTasks.update_changed(), as above)."""

    def rename(frm: str, to: str):
        def run(apps, schema_editor):
            beat = "django_celery_beat"
            if apps.get_model(beat, "PeriodicTask").objects.filter(task=frm).update(task=to):
                apps.get_model(beat, "PeriodicTasks").objects.update_or_create(
                    ident=1, defaults={"last_update": timezone.now()}
                )

        return run

    return migrations.RunPython(rename(old, new), rename(new, old))
