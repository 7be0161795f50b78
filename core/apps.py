from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The floor every app stands on: the personal-data registry, signed links, mail, the bulk writer,
    the organisation's compliance settings. It imports no app of the project."""

    name = "core"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from core import checks  # noqa: F401  (registers the personal-data system check)

        # Each app's privacy.py registers its personal data downward into core.registry.
        autodiscover_modules("privacy")
