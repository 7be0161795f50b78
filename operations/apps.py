from django.apps import AppConfig


class OperationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "operations"
    verbose_name = "Operations"

    def ready(self):
        from celery.signals import task_postrun, task_prerun

        from operations.logs import task_finished, task_started

        task_prerun.connect(task_started, weak=False)
        task_postrun.connect(task_finished, weak=False)
