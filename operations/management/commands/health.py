from django.core.management.base import BaseCommand, CommandError

from operations.health import CHECKS, run_checks


class Command(BaseCommand):
    help = "Check the database, migrations, cache, storage, broker, worker and beat; exit 1 if any fails."

    def add_arguments(self, parser):
        parser.add_argument(
            "checks", nargs="*", help=f"only these checks (default: all): {', '.join(CHECKS)}"
        )

    def handle(self, *args, **options):
        unknown = set(options["checks"]) - set(CHECKS)
        if unknown:
            raise CommandError(f"No such check: {', '.join(sorted(unknown))}. Checks: {', '.join(CHECKS)}")
        results = run_checks(options["checks"] or None)
        for result in results:
            state = "ok" if result.ok else f"FAILING: {result.problem}"
            self.stdout.write(f"{result.name:<11} {state} ({result.seconds * 1000:.0f} ms)")
        failing = [r.name for r in results if not r.ok]
        if failing:
            raise CommandError(f"Not ready: {', '.join(failing)}")
        self.stdout.write("Ready.")
