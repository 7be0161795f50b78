"""The synthetic dataset: built once per scale and schema in a database of its own, reused after."""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from consent.models import Purpose, Source
from consent.services import contacts_create_with_consent
from contacts.models import Contact
from core.append_only import sqlite_triggers_lifted
from core.bulk import dialect
from core.models import ComplianceSettings

PURPOSES = {"newsletter": "Newsletter", "product-updates": "Product updates", "events": "Events"}
CHUNK = 20_000
SEED = 20261123
# Guardians are drawn from the first adults made (about 10,000).
ADULTS = 10_000
# Share of contacts per level 0..5, roughly what a consent-driven list looks like.
LEVEL_WEIGHTS = [10, 10, 20, 25, 20, 15]


def use_bench_database() -> str:
    """Point the default connection at the benchmark database (created and migrated if needed)."""
    old_name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        path = settings.VAR_DIR / "bench" / "bench.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        name = str(path)
    else:
        name = f"{old_name}_bench"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=True)
    return old_name


def leave_bench_database(old_name: str) -> None:
    connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=True)


def schema_fingerprint() -> str:
    applied = sorted(MigrationRecorder(connection).applied_migrations())
    return hashlib.sha256(json.dumps(applied).encode()).hexdigest()[:16]


def _marker_path():
    folder = settings.VAR_DIR / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"dataset-{connection.vendor}-{connection.settings_dict['NAME'].replace('/', '_')}.json"


def ensure_dataset(*, contacts: int, out=sys.stderr) -> dict:
    """Reuse the dataset when scale and schema match, otherwise rebuild it. Returns its description."""
    marker = _marker_path()
    wanted = {"contacts": contacts, "schema": schema_fingerprint()}
    known = json.loads(marker.read_text()) if marker.exists() else {}
    if known.get("key") == wanted and Contact.objects.count() == contacts:
        _analyze()
        return known
    started = time.perf_counter()
    # Synthetic data only: SQLite's flush deletes row by row, which the audit tables' triggers refuse.
    with sqlite_triggers_lifted(connection):
        call_command("flush", interactive=False, verbosity=0)
    _build(contacts, out)
    _analyze()
    description = {"key": wanted, "built_seconds": round(time.perf_counter() - started, 1)}
    marker.write_text(json.dumps(description))
    return description


def _analyze() -> None:
    """Planner statistics as a production PostgreSQL has them: autovacuum analyzes a table after
    a bulk load, but maybe not before the first measurement. Without them the planner took 746,696
    rows of one purpose for 3,865 and chose plans 5x slower (seen at 1M on 2026-12-01)."""
    dialect(connection).analyze()


def _build(total: int, out) -> None:
    settings_row = ComplianceSettings.load()
    settings_row.log_consent_changes = True
    settings_row.save()
    for slug, name in PURPOSES.items():
        Purpose.objects.get_or_create(slug=slug, defaults={"name": name})
    if connection.vendor == "postgresql":
        from bench.copy_build import build_with_copy

        build_with_copy(total, out)
    else:
        build_with_service(total, out)


def chunk_effective_at(since, made: int, total: int):
    """When the answers of the chunk starting at `made` took effect: an hour later every 1,000
    contacts up to 1M, the same span of about six weeks above (never in the future)."""
    return since + timedelta(hours=made * min(1, 1_000_000 / total) / 1000)


def build_with_service(total: int, out) -> None:
    """Through the consent service's bulk path (contacts_create_with_consent), chunk by chunk:
    the path every database has; bench.copy_build writes the same rows with COPY on PostgreSQL."""
    rng = random.Random(SEED)
    adults: list[int] = []
    made = 0
    since = timezone.now() - timedelta(days=365)
    while made < total:
        size = min(CHUNK, total - made)
        rows = [row_for(made + i, rng, adults) for i in range(size)]
        contacts_create_with_consent(
            rows=rows, source=Source.IMPORT, effective_at=chunk_effective_at(since, made, total)
        )
        made += size
        if len(adults) < ADULTS:
            adults += list(
                Contact.objects.filter(is_child=False).order_by("-id").values_list("id", flat=True)[:2000]
            )
        progress(out, made, total)
    out.write("\n")


def progress(out, made: int, total: int) -> None:
    out.write(f"\r  building contacts {made:>9,}/{total:,} ({made * 100 // total}%)")
    out.flush()


def row_for(i: int, rng: random.Random, adults: list[int]) -> dict:
    level = rng.choices(range(6), weights=LEVEL_WEIGHTS)[0]
    child = bool(adults) and rng.random() < 0.05
    row = {
        "first_name": f"First{i % 997}",
        "last_name": f"Last{i % 1009}",
        "email": f"c{i}@bench.example",
        "consent_given": min(level, 4) if child else level,
        "tracking_allowed": rng.random() < 0.4,
        "processing_restricted": rng.random() < 0.02,
    }
    if child:
        row.update(is_child=True, guardian_id=rng.choice(adults))
    if rng.random() < 0.7:
        row["purposes"] = {"newsletter": rng.random() < 0.6, "events": rng.random() < 0.3}
    return row
