from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class DsrConfig(AppConfig):
    name = "dsr"
    verbose_name = "Data subject requests"

    def ready(self) -> None:
        from dsr import checks  # noqa: F401  (registers the system check)

        autodiscover_modules("privacy")
