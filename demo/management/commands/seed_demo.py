from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from demo.seed import ensure_users, seed


class Command(BaseCommand):
    help = "Load demo data (about 200 contacts with a year of consent history) and one login per role. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG off (never in production)"
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("seed_demo creates known passwords; it runs only with DEBUG on (or --force).")
        logins = ensure_users()
        officer = get_user_model().objects.get(username="officer")
        result = seed(officer=officer)
        self.stdout.write(f"Demo data: {result['added']} contacts added, {result['contacts']} in all.")
        self.stdout.write("Log in at http://127.0.0.1:8000/admin/ as:")
        for role, username, password in logins:
            self.stdout.write(f"  {role:<16} {username:<10} {password}")
