"""Every schedule the migrations create names a task the worker knows, and reversing removes it."""

import pytest
from django_celery_beat.models import PeriodicTask

from config.celery import app

pytestmark = pytest.mark.django_db


def test_every_scheduled_task_exists_in_the_worker():
    import config.celery  # noqa: F401  the app autodiscovers every tasks module

    app.loader.import_default_modules()
    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"dsr.remind_deadlines", "dsr.resume_stale_bundles", "consent.snapshot_levels"} <= scheduled
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)


def test_a_schedule_is_removed_when_its_migration_is_reversed():
    from django.apps import apps as real_apps

    from core.beat import periodic_task

    operation = periodic_task("Test schedule", "dsr.remind_deadlines", every=7, period="minutes")
    operation.code(real_apps, None)
    operation.code(real_apps, None)  # idempotent
    task = PeriodicTask.objects.get(name="Test schedule")
    assert (task.interval.every, task.interval.period, task.crontab) == (7, "minutes", None)
    operation.reverse_code(real_apps, None)
    assert not PeriodicTask.objects.filter(name="Test schedule").exists()


def test_a_schedule_is_either_an_interval_or_a_daily_time():
    from core.beat import periodic_task

    with pytest.raises(ValueError):
        periodic_task("both", "x", every=1, period="hours", hour="3")


def test_every_task_is_named_after_its_app_and_function():
    """The naming rule of config/celery.py: name="<app label>.<function name>"."""
    from django.conf import settings

    app.loader.import_default_modules()
    ours = [t for t in app.tasks.values() if t.run.__module__.split(".")[0] in settings.INSTALLED_APPS]
    assert len(ours) > 20
    assert [t.name for t in ours if t.name != f"{t.run.__module__.split('.')[0]}.{t.run.__name__}"] == []


def test_a_renamed_task_keeps_its_schedule_and_gets_it_back_when_reversed():
    from django.apps import apps as real_apps

    from core.beat import periodic_task, task_renamed

    periodic_task("Test schedule", "dsr.old_name", every=7, period="minutes").code(real_apps, None)
    rename = task_renamed("dsr.old_name", "dsr.remind_deadlines")
    rename.code(real_apps, None)
    task = PeriodicTask.objects.get(name="Test schedule")
    assert (task.task, task.interval.every) == ("dsr.remind_deadlines", 7)
    rename.reverse_code(real_apps, None)
    assert PeriodicTask.objects.get(name="Test schedule").task == "dsr.old_name"
