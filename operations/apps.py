from django.apps import AppConfig


class OperationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "operations"
    verbose_name = "Operations"

    def ready(self):
        from celery.signals import task_postrun, task_prerun, worker_init

        from operations.logs import task_finished, task_started

        task_prerun.connect(task_started, weak=False)
        task_postrun.connect(task_finished, weak=False)
        worker_init.connect(refuse_after_unapplied_restore, weak=False)


def refuse_after_unapplied_restore(**kwargs) -> None:
    """A worker would mail and process people erased since the restored backup was taken."""
    from health_check.exceptions import HealthCheckException

    from operations.health import Erasures

    try:
        Erasures().run()
    except HealthCheckException as error:
        raise SystemExit(f"Celery worker refuses to start: {error}") from None
