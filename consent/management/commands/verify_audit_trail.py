from django.core.management.base import BaseCommand, CommandError

from consent.audit_chain import verify_and_record


class Command(BaseCommand):
    help = (
        "Walk the consent change chain and report every record edited, inserted or removed behind the"
        " application's back, with counts per problem, and check it against the signed checkpoints."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--whole",
            action="store_true",
            help="read every record, even in stretches unchanged since they last verified clean (PostgreSQL)",
        )

    def handle(self, *args, **options):
        result = verify_and_record(whole=options["whole"])
        if not result.ok:
            for record_id, problem in result.bad:
                where = f"record #{record_id}" if record_id else "chain"
                self.stderr.write(f"{where}: {problem}")
            if result.bad_count > len(result.bad):
                self.stderr.write(f"... and {result.bad_count - len(result.bad)} more (counted above)")
            raise CommandError(result.summary())
        self.stdout.write(result.summary())
