from django.core.management.base import BaseCommand

from staff.roles import sync_roles


class Command(BaseCommand):
    help = "Create the Privacy officer, Marketer and Auditor groups and set their permissions (idempotent)."

    def handle(self, *args, **options):
        for role, count in sync_roles().items():
            self.stdout.write(f"{role}: {count} permissions")
