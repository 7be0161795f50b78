"""Scheduled jobs: defined in code, run by a real Celery worker on the configured broker.

The worker is a separate `celery worker` process (tests/conftest.py: celery_worker) that opens
the test database through DATABASE_URL, so the test commits its rows (transactional_db) first.
"""

import pytest
from django_celery_beat.models import PeriodicTask

from consent.models import ConsentLevelSnapshot, Source
from consent.services import consent_change
from consent.tasks import snapshot_levels
from tests.conftest import wait_for
from tests.factories import ContactFactory


@pytest.mark.django_db
def test_the_schedules_exist_after_migrate():
    tasks = dict(PeriodicTask.objects.filter(enabled=True).values_list("task", "name"))
    assert {"consent.snapshot_levels", "subscriptions.purge_unconfirmed"} <= set(tasks)


@pytest.mark.django_db
def test_the_level_snapshot_runs_once_a_night():
    task = PeriodicTask.objects.select_related("crontab").get(task="consent.snapshot_levels")
    assert task.enabled and task.crontab is not None and task.interval is None
    crontab = task.crontab
    assert (crontab.day_of_week, crontab.day_of_month, crontab.month_of_year) == ("*", "*", "*")
    assert crontab.hour.isdigit() and crontab.minute.isdigit()  # one fixed time each day


@pytest.mark.worker
def test_a_worker_on_the_real_broker_runs_the_nightly_snapshot(celery_worker):
    for level in (1, 3, 3):
        consent_change(contact=ContactFactory(), level=level, source=Source.IMPORT)
    assert not snapshot_levels.app.conf.task_always_eager  # it must really cross the broker
    celery_worker.start()
    snapshot_levels.delay()  # through the broker, not in-process
    wait_for(lambda: ConsentLevelSnapshot.objects.count() == 6, seconds=60, message="the worker's snapshot")
    assert dict(ConsentLevelSnapshot.objects.values_list("level", "contacts")) == {
        0: 0,
        1: 1,
        2: 0,
        3: 2,
        4: 0,
        5: 0,
    }
    assert celery_worker.process.poll() is None  # the worker is still alive: it did not crash on it
