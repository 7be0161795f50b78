from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs) -> None:
    # post_migrate is sent once per app with models; sync after the last, when every
    # permission exists (this app has no models of its own, so it never gets the signal).
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if sender is last:
        from staff.roles import sync_roles

        sync_roles()


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Staff"

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, dispatch_uid="staff.sync_roles")
        from django.core import checks

        from staff.sso import check_role_map

        checks.register(check_role_map)

        from staff.sign_ins import connect

        connect()
