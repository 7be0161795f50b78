from django.core.management.base import BaseCommand, CommandError

from consent.audit_chain import verify


class Command(BaseCommand):
    help = "Walk the consent change chain and report the first record edited, inserted or removed behind the application's back."

    def handle(self, *args, **options):
        result = verify()
        if not result.ok:
            where = f"record #{result.first_bad_id}" if result.first_bad_id else "the end of the chain"
            raise CommandError(
                f"Audit trail broken at {where}: {result.problem}. {result.checked} records checked."
            )
        self.stdout.write(f"Audit trail intact: {result.checked} records, head {result.head}")
