from django.apps import AppConfig


class DsrConfig(AppConfig):
    name = "dsr"
    verbose_name = "Data subject requests"

    def ready(self):
        from dsr import checks  # noqa: F401  (registers the jurisdiction system checks)
