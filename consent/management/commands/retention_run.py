from django.core.management.base import BaseCommand, CommandError

from consent.lapse import RunInProgress, retention_run


class Command(BaseCommand):
    help = (
        "Run the nightly retention job now: withdraw lapsed consent and erase contacts with nothing left"
        " (what the admin's retention preview shows as due). Safe to rerun: it does only what is left."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, help="contacts per transaction (default RETENTION_BATCH_SIZE)"
        )

    def handle(self, *args, **options):
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            run = retention_run(batch_size=options["batch_size"])
        except RunInProgress as busy:
            raise CommandError(f"{busy}; try again when it has finished.") from busy
        self.stdout.write(
            f"Retention run #{run.pk}: {run.lapsed} consents lapsed, {run.erased} contacts erased"
        )
        for entry in run.counts.values():
            self.stdout.write(
                f"  {entry['kind']} {entry['rule']}: {entry['lapsed']} lapsed, {entry['erased']} erased"
            )
