from django.core.management.base import BaseCommand, CommandError

from dsr.erasure import erasures_reapply
from dsr.ledger import LedgerBroken


class Command(BaseCommand):
    help = (
        "After restoring a database backup: erase again everyone the erasure ledger lists as erased "
        "since the backup, and restore their suppression entries. Workers refuse to start until it has run."
    )

    def handle(self, *args, **options):
        try:
            done = erasures_reapply()
        except LedgerBroken as error:
            raise CommandError(f"The erasure ledger is broken: {error}. Restore it from its copy.") from None
        for line in done:
            self.stdout.write(line)
        self.stdout.write(
            f"{len(done)} erasures re-applied; the database now knows every erasure in the ledger."
        )
