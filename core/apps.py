from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The floor every app stands on: the personal-data registry, signed links, mail, the bulk writer,
    the organisation's compliance settings. It imports no app of the project."""

    name = "core"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_save
        from django.utils.module_loading import autodiscover_modules

        from core import (
            checks,  # noqa: F401  (registers the personal-data system check)
            db_router,
            levels,
        )
        from core.models import (
            ComplianceSettings,
            LevelWording,
            settings_memo_end,
            settings_memo_forget,
            settings_memo_start,
        )

        # One read of the level wording per request (core.levels.level_wording), forgotten on change.
        request_started.connect(levels.memo_start, dispatch_uid="level_wording_memo_start")
        request_finished.connect(levels.memo_end, dispatch_uid="level_wording_memo_end")
        post_save.connect(levels.memo_forget, sender=LevelWording, dispatch_uid="level_wording_changed")
        # The same for the compliance settings row (ComplianceSettings.load).
        request_started.connect(settings_memo_start, dispatch_uid="compliance_settings_memo_start")
        request_finished.connect(settings_memo_end, dispatch_uid="compliance_settings_memo_end")
        post_save.connect(
            settings_memo_forget, sender=ComplianceSettings, dispatch_uid="compliance_settings_changed"
        )

        # Read-your-writes with a read replica: the primary's connection notes every write.
        connection_created.connect(db_router.install_write_tracking, dispatch_uid="replica_write_tracking")

        # Each app's privacy.py registers its personal data downward into core.registry.
        autodiscover_modules("privacy")
