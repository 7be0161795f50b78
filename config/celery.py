"""The Celery app. Tasks live in each app's tasks.py (autodiscovered) and follow one naming rule.

Every task is declared `@shared_task(name="<app label>.<function name>")`: the explicit name is
what schedules (django-celery-beat rows made by migrations, core.beat) and queued messages
store, so it must not change when a module moves, and it leads straight to the function. The
function says what the job does, verb first (`send_bundle_link`, `purge_access_log`,
`run_journeys`), and is a thin, idempotent wrapper around the service (`<entity>_<action>`) it
calls. Renaming a scheduled task needs a migration (core.beat.task_renamed).
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("consent_office")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Each task starts with no writes of its own (core.db_router: read-your-writes with a replica); a
# worker process runs task after task in one context, and an eager task runs inside a request.
_write_tracking = {}


@task_prerun.connect
def _task_writes_tracked(task_id=None, **kwargs):
    from core.db_router import writes_tracked

    tracked = writes_tracked()
    tracked.__enter__()
    _write_tracking[task_id] = tracked


@task_postrun.connect
def _task_writes_forgotten(task_id=None, **kwargs):
    if (tracked := _write_tracking.pop(task_id, None)) is not None:
        tracked.__exit__(None, None, None)
