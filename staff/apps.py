from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs) -> None:
    from staff.roles import sync_roles

    sync_roles()


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Staff"

    def ready(self) -> None:
        # Listed last in INSTALLED_APPS, so every other app's permissions exist by now.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="staff.sync_roles")
