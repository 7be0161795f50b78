from django.core.management.base import BaseCommand

from dsr.unconfirmed import unconfirmed_signups_purge


class Command(BaseCommand):
    help = (
        "Erase contacts that only an unconfirmed sign-up created, and delete double opt-in requests "
        "nobody confirmed, once UNCONFIRMED_SIGNUP_PURGE_DAYS have passed (the daily job does the same)."
    )

    def handle(self, *args, **options):
        done = unconfirmed_signups_purge()
        self.stdout.write(
            f"{done['contacts erased']} contacts erased, {done['requests deleted']} unconfirmed requests deleted."
        )
