from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from staff.api_auth import api_key_create, api_key_revoke
from staff.models import ApiKey


class Command(BaseCommand):
    help = "Create, list or revoke API keys. An API client acts as a staff user and has that user's role."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--user", required=True, help="username of the staff user the client acts as")
        create.add_argument("--name", required=True, help="what the client is, e.g. 'web shop sync'")
        revoke = sub.add_parser("revoke")
        revoke.add_argument("prefix")
        sub.add_parser("list")

    def handle(self, *args, action, **options):
        if action == "create":
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}.")
            key, text = api_key_create(user=user, name=options["name"])
            self.stdout.write(f"API key for {key.name} (shown once, store it now):\n{text}")
        elif action == "revoke":
            if not api_key_revoke(prefix=options["prefix"]):
                raise CommandError("No active key with that prefix.")
            self.stdout.write("Revoked.")
        else:
            for key in ApiKey.objects.select_related("user").order_by("created_at"):
                state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                self.stdout.write(f"{key.prefix}  {key.user}  {key.name}  {state}")
