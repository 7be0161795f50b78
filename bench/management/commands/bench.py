import json
import platform
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from bench import cost, measurements
from bench.dataset import ensure_dataset, leave_bench_database, use_bench_database

MEASUREMENTS = {
    "eligibility": lambda o: measurements.eligibility(o["repeat"]),
    "changelist": lambda o: measurements.changelist(o["repeat"]),
    # Only with DATABASE_REPLICA_URL: the same reads on the replica and on the primary.
    "replica": lambda o: measurements.replica_reads_beside_primary(o["repeat"]),
    "audit_export": lambda o: measurements.audit_export(o["repeat"], min(o["export_rows"], o["contacts"])),
    "consent_changes": lambda o: measurements.consent_changes(o["repeat"], o["changes"]),
    "erasure": lambda o: measurements.erasure(o["erasures"]),
    "access_log": lambda o: measurements.access_log(o["repeat"]),
    "subscription_center": lambda o: measurements.subscription_center(o["seconds"]),
    "enrolment": lambda o: measurements.enrolment(o["repeat"]),
    "webhooks": lambda o: measurements.webhook_delivery(o["repeat"], o["changes"]),
    "import": lambda o: measurements.consent_import(o["repeat"], min(o["import_rows"], o["contacts"])),
    "retention": lambda o: measurements.retention_lapse(
        o["repeat"], o["retention_batch"] or settings.RETENTION_BATCH_SIZE
    ),
}


class Command(BaseCommand):
    help = (
        "Measure the product at scale against baselines in the same run, on a synthetic dataset kept in "
        "its own database (built once per scale and schema). Prints a table and writes JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--contacts", type=int, default=100_000, help="scale of the dataset (default 100000)"
        )
        parser.add_argument(
            "--repeat", type=int, default=5, help="timed runs per operation; the median counts"
        )
        parser.add_argument("--changes", type=int, default=500, help="consent changes per timed run")
        parser.add_argument(
            "--import-rows", type=int, default=100_000, help="rows of the timed consent import (at most N)"
        )
        parser.add_argument(
            "--export-rows",
            type=int,
            default=100_000,
            help="change records in the timed audit export (at most N; a sheet holds 1,048,575 rows)",
        )
        parser.add_argument(
            "--erasures", type=int, default=50, help="contacts erased for the latency figures"
        )
        parser.add_argument(
            "--retention-batch",
            type=int,
            help="contacts per batch of the retention job (RETENTION_BATCH_SIZE)",
        )
        parser.add_argument("--seconds", type=float, default=10, help="load duration per page under gunicorn")
        parser.add_argument("--only", choices=sorted(MEASUREMENTS), action="append", help="run only these")
        parser.add_argument("--json", type=Path, help="where to write the results (default bench/results/)")
        parser.add_argument(
            "--no-nightly",
            action="store_true",
            help="skip timing each daily and hourly housekeeping job at the dataset's scale",
        )

    def handle(self, *args, **options):
        if options["contacts"] < 100 or options["repeat"] < 1 or options["changes"] < 1:
            raise CommandError("--contacts must be at least 100, --repeat and --changes at least 1.")
        # The schedule as beat has it in the database the command started on (building the
        # dataset flushes the bench database, periodic tasks included).
        schedule = [] if options["no_nightly"] else cost.housekeeping_schedule()
        original = use_bench_database()
        try:
            self.stderr.write(f"dataset: {options['contacts']:,} contacts on {connection.vendor}")
            dataset = ensure_dataset(contacts=options["contacts"], out=self.stderr)
            results = []
            path = (
                options["json"]
                or settings.BASE_DIR / "bench" / "results" / f"{connection.vendor}-{options['contacts']}.json"
            )
            costs: dict = {}
            with cost.ProcessWatch() as watch:
                for name in options["only"] or MEASUREMENTS:
                    self.stderr.write(f"measuring {name} ...")
                    results += MEASUREMENTS[name](options)
                    # Written after each measurement: a run stopped at 10M keeps what it measured.
                    self._write(path, options, dataset, results, costs)
            costs = {"memory_peak_mb": cost.memory(watch), **cost.table_sizes()}
            if not options["no_nightly"]:
                schedule = schedule or cost.housekeeping_schedule()
                self.stderr.write(f"timing {len(schedule)} housekeeping jobs ...")
                costs["nightly_jobs"] = cost.nightly_jobs(schedule)
        finally:
            leave_bench_database(original)
        self._print(results)
        self._print_costs(costs)
        self._write(path, options, dataset, results, costs)
        self.stdout.write(f"\nwritten to {path}")

    def _write(self, path, options, dataset, results, costs) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "when": timezone.now().isoformat(),
            "database": connection.vendor,
            "python": sys.version.split()[0],
            "machine": platform.platform(),
            "dataset": dataset,
            "repeat": options["repeat"],
            "results": [
                {
                    "operation": r.name,
                    "n": r.n,
                    "median_s": r.median_s,
                    "baseline_median_s": r.baseline_s,
                    "ratio": round(r.ratio, 2),
                    **r.extra,
                }
                for r in results
            ],
            "cost": costs,
        }
        path.write_text(json.dumps(report, indent=2, default=str))

    def _print(self, results):
        header = f"{'operation':<38} {'N':>10} {'median':>11} {'baseline':>11} {'ratio':>7}  notes"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for r in results:
            notes = ", ".join(f"{k}={v}" for k, v in r.extra.items())
            self.stdout.write(
                f"{r.name:<38} {r.n:>10,} {r.median_s * 1000:>9.1f}ms {r.baseline_s * 1000:>9.1f}ms "
                f"{r.ratio:>6.1f}x  {notes}"
            )

    def _print_costs(self, costs):
        mb = cost.MB
        total = costs.get("database_bytes")
        self.stdout.write(f"\ndisk{f' (database {total / mb:,.1f} MB)' if total else ''}")
        self.stdout.write(f"{'table':<44} {'rows':>12} {'table MB':>10} {'indexes MB':>11} {'total MB':>10}")
        tables = costs.get("tables", [])
        # The largest few always, the rest from 1 MB: the small ones are in the JSON.
        small = [t for t in tables[8:] if t["total_bytes"] < mb]
        for t in tables:
            if t in small:
                continue
            rows = f"{t['rows']:,}" if t["rows"] is not None else "-"
            self.stdout.write(
                f"{t['table']:<44} {rows:>12} {t['table_bytes'] / mb:>10.1f} {t['index_bytes'] / mb:>11.1f} "
                f"{t['total_bytes'] / mb:>10.1f}"
            )
            for name, size in t["indexes"].items():
                self.stdout.write(f"  {name:<54} {size / mb:>22.1f}")
        if small:
            together = sum(t["total_bytes"] for t in small) / mb
            self.stdout.write(
                f"{len(small)} more tables under 1 MB each ({together:.1f} MB together, in the JSON)"
            )
        self.stdout.write("\nmemory (peak RSS)")
        for kind, size in costs["memory_peak_mb"].items():
            self.stdout.write(f"  {kind:<50} {size:>10.1f} MB")
        if "nightly_jobs" in costs:
            self.stdout.write("\nhousekeeping jobs, each run once at this scale (rolled back after)")
            for job in costs["nightly_jobs"]:
                seconds = f"{job['seconds']:.2f} s" if "seconds" in job else "-"
                added = f"+{job['peak_rss_added_mb']} MB" if "peak_rss_added_mb" in job else ""
                self.stdout.write(
                    f"  {job['job'][:60]:<60} {job['schedule']:<16} {seconds:>10} {added:>10}  {job['outcome']}"
                )
