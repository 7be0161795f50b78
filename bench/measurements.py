"""Each measurement times the product's way and a baseline (the best this database or library
could do) side by side in the same run. Nothing here is asserted: the figures are reported."""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook

from config.xlsx import write_workbook
from consent.admin import ConsentChangeAdmin
from consent.models import ConsentChange, Purpose, Source
from consent.selectors import eligible_contacts
from consent.services import consent_change
from contacts.models import Contact
from staff.roles import PRIVACY_OFFICER, sync_roles

PAGE = 50


@dataclass
class Result:
    name: str
    n: int
    median_s: float
    baseline_s: float
    unit: str = "s"
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.median_s / self.baseline_s if self.baseline_s else float("inf")


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time of `repeat` calls (after one warm-up call) and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


# --- eligibility ------------------------------------------------------------------------------


def _eligibility_sql(select: str, tail: str = "") -> str:
    # Only constant fragments are spliced in; values go through parameters.
    return (
        f"SELECT {select} FROM contacts_contact c WHERE c.processing_restricted = %s AND c.consent_given >= %s "
        "AND EXISTS (SELECT 1 FROM consent_purposeconsent pc WHERE pc.contact_id = c.id "
        f"AND pc.purpose_id = %s AND pc.granted = %s) {tail}"
    )


def _raw(sql: str, params) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def eligibility(repeat: int) -> list[Result]:
    purpose = Purpose.objects.get(slug="newsletter")
    params = [False, 4, purpose.pk, True]
    selected = eligible_contacts(min_level=4, purpose="newsletter")
    n = Contact.objects.count()

    count_s, count = timed(lambda: selected.count(), repeat)
    raw_count_s, raw_count = timed(lambda: _raw(_eligibility_sql("COUNT(*)"), params)[0][0], repeat)
    page_s, page = timed(lambda: list(selected.order_by("id").values_list("id", flat=True)[:PAGE]), repeat)
    raw_page_s, raw_page = timed(
        lambda: [r[0] for r in _raw(_eligibility_sql("c.id", f"ORDER BY c.id LIMIT {PAGE}"), params)], repeat
    )
    same = set(selected.values_list("id", flat=True)) == {
        r[0] for r in _raw(_eligibility_sql("c.id"), params)
    }
    agree = {"same_set": same, "count": count, "baseline_count": raw_count, "same_page": page == raw_page}
    return [
        Result("eligibility count", n, count_s, raw_count_s, extra=agree),
        Result("eligibility first page", n, page_s, raw_page_s, extra={"same_page": page == raw_page}),
    ]


# --- admin changelist -------------------------------------------------------------------------


def _officer():
    sync_roles()
    user, created = get_user_model().objects.get_or_create(
        username="bench-officer", defaults={"is_staff": True}
    )
    if created:
        from django.contrib.auth.models import Group

        user.groups.add(Group.objects.get(name=PRIVACY_OFFICER))
    return user


def changelist(repeat: int) -> list[Result]:
    client = Client()
    client.force_login(_officer())
    url = reverse("admin:contacts_contact_changelist") + "?consent_given__exact=4"

    def page():
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        return response

    view_s, _ = timed(page, repeat)
    with CaptureQueriesContext(connection) as queries:
        page()
    full_counts = sum(
        "COUNT(" in q["sql"].upper() and "LIMIT" not in q["sql"].upper() for q in queries.captured_queries
    )
    raw_s, _ = timed(
        lambda: _raw(
            "SELECT id, first_name, last_name, email, phone, consent_given, tracking_allowed, is_child, "
            f"processing_restricted FROM contacts_contact WHERE consent_given = %s ORDER BY id DESC LIMIT {PAGE}",
            [4],
        ),
        repeat,
    )
    extra = {"queries": len(queries.captured_queries), "uncapped_count_queries": full_counts}
    return [
        Result("admin changelist (filtered, page 1)", Contact.objects.count(), view_s, raw_s, extra=extra)
    ]


def access_log(repeat: int) -> list[Result]:
    """A contact's admin page, which writes one access log entry per view, vs the same page with
    the log call swapped out for this measurement only: what the log costs staff per view."""
    import consent.admin.contacts

    client = Client()
    client.force_login(_officer())
    contact_id = Contact.objects.order_by("id").values_list("id", flat=True).first()
    url = reverse("admin:contacts_contact_change", args=[contact_id])

    def page():
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        return response

    with transaction.atomic():  # the entries written here do not stay in the dataset
        logged_s, _ = timed(page, repeat)
        original = consent.admin.contacts.record_access
        consent.admin.contacts.record_access = lambda **kwargs: None
        try:
            unlogged_s, _ = timed(page, repeat)
        finally:
            consent.admin.contacts.record_access = original
        transaction.set_rollback(True)
    extra = {"log_cost_ms": round((logged_s - unlogged_s) * 1000, 2)}
    return [
        Result("contact page with access log", Contact.objects.count(), logged_s, unlogged_s, extra=extra)
    ]


# --- audit export -----------------------------------------------------------------------------


def audit_export(repeat: int, limit: int) -> list[Result]:
    """The consent change export as the admin writes it vs raw openpyxl writing the same rows."""
    from django.contrib.admin.sites import site

    model_admin = ConsentChangeAdmin(ConsentChange, site)
    queryset = ConsentChange.objects.order_by("pk")[:limit]
    header = model_admin.export_header(None)

    def product():
        with tempfile.TemporaryFile() as spool:
            return write_workbook(
                spool,
                title="Consent change records",
                header=header,
                rows=model_admin.export_rows(None, queryset),
            )

    rows_in_memory = list(model_admin.export_rows(None, queryset))

    def baseline():
        with tempfile.TemporaryFile() as spool:
            book = Workbook(write_only=True)
            sheet = book.create_sheet("Consent change records")
            sheet.append(header)
            for row in rows_in_memory:
                sheet.append(
                    [v.replace(tzinfo=None) if hasattr(v, "tzinfo") and v.tzinfo else v for v in row]
                )
            book.save(spool)
            return len(rows_in_memory)

    product_s, rows = timed(product, repeat)
    baseline_s, _ = timed(baseline, repeat)
    extra = {
        "rows": rows,
        "rows_per_s": round(rows / product_s) if product_s else None,
        "baseline_rows_per_s": round(rows / baseline_s) if baseline_s else None,
        "peak_mib": _peak_mib(product),
        "baseline_peak_mib": _peak_mib(baseline),
    }
    return [Result("audit export (xlsx)", rows, product_s, baseline_s, extra=extra)]


def _peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()


# --- consent changes --------------------------------------------------------------------------


def consent_changes(repeat: int, batch: int) -> list[Result]:
    """Consent changes per second through the consent service vs raw UPDATE + INSERT of the same
    rows: one change per transaction on both sides (a person clicking), then a batch of changes in
    one transaction on both sides (consent_changes_apply, as imports use it)."""
    from consent.services import ConsentWish, consent_changes_apply

    # Contacts already at level 1 or 2, flipped between the two: the dataset keeps its shape.
    ids = list(
        Contact.objects.filter(consent_given__in=[1, 2]).order_by("id").values_list("id", flat=True)[:batch]
    )
    contacts = list(Contact.objects.filter(id__in=ids))
    flip = {"value": 1}

    def one_by_one():
        flip["value"] = 2 if flip["value"] == 1 else 1
        for contact in contacts:
            consent_change(contact=contact, level=flip["value"], source=Source.IMPORT)
        return len(contacts)

    def in_one_call():
        flip["value"] = 2 if flip["value"] == 1 else 1
        wishes = [[ConsentWish(contact_id=pk, level=flip["value"])] for pk in ids]
        consent_changes_apply(groups=wishes, source=Source.IMPORT)
        return len(wishes)

    def raw_change(cursor, pk):
        cursor.execute("UPDATE contacts_contact SET consent_given = %s WHERE id = %s", [flip["value"], pk])
        cursor.execute(
            "INSERT INTO consent_consentchange (contact_id, field, old_value, new_value, source, channel,"
            " justification, evidence, effective_at, recorded_at) VALUES (%s, 'consent_given', '1', %s,"
            " 'import', '', '', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            [pk, str(flip["value"])],
        )

    def raw_one_by_one():
        flip["value"] = 2 if flip["value"] == 1 else 1
        for pk in ids:
            with transaction.atomic(), connection.cursor() as cursor:
                raw_change(cursor, pk)
        return len(ids)

    def raw_in_one_transaction():
        flip["value"] = 2 if flip["value"] == 1 else 1
        with transaction.atomic(), connection.cursor() as cursor:
            for pk in ids:
                raw_change(cursor, pk)
        return len(ids)

    results = []
    for name, product, baseline in [
        ("consent changes (service)", one_by_one, raw_one_by_one),
        ("consent changes (service, one batch)", in_one_call, raw_in_one_transaction),
    ]:
        product_s, n = timed(product, repeat)
        baseline_s, _ = timed(baseline, repeat)
        extra = {"changes": n, "per_s": round(n / product_s), "baseline_per_s": round(n / baseline_s)}
        results.append(Result(name, n, product_s, baseline_s, extra=extra))
    return results


# --- erasure ----------------------------------------------------------------------------------


def _erasure_victims(count: int, offset: int) -> list[Contact]:
    """Adults without wards, each given what a real person accumulates: answers, a subscription,
    consent changes with history, and a staff view in the access log. Not timed."""
    from staff.models import AccessedContact, AccessLogEntry
    from subscriptions.models import SubscriptionList
    from subscriptions.services import subscription_set

    news, _ = SubscriptionList.objects.get_or_create(slug="bench-news", defaults={"name": "Bench news"})
    wards = Contact.objects.filter(guardian__isnull=False).values("guardian_id")
    people = list(
        Contact.objects.filter(is_child=False, consent_given__gte=3)
        .exclude(pk__in=wards)
        .order_by("-id")[offset : offset + count]
    )
    officer = _officer()
    for person in people:
        consent_change(
            contact=person,
            level=person.consent_given,
            tracking_allowed=not person.tracking_allowed,
            source=Source.ADMIN,
            actor=officer,
            justification="bench: phoned in",
        )
        subscription_set(contact=person, subscription_list=news, status="subscribed", source=Source.IMPORT)
        entry = AccessLogEntry.objects.create(
            user=officer, action=AccessLogEntry.Action.VIEW, contact_count=1
        )
        AccessedContact.objects.create(entry=entry, contact=person)
    return people


def _plan_scans(statements: list[tuple[str, list]]) -> list[str]:
    """Tables of more than 10,000 rows that a statement reads by a full scan instead of an index."""
    big = {
        m._meta.db_table
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and m._default_manager.count() > 10_000
    }
    found = set()
    with connection.cursor() as cursor:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                continue
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                found |= set(re.findall(r"Seq Scan on (\w+)", plan)) & big
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                for row in cursor.fetchall():
                    detail = row[-1]
                    if detail.startswith("SCAN ") and "USING" not in detail:
                        table = detail.split()[1]
                        if table in big:
                            found.add(table)
    return sorted(found)


def erasure(samples: int) -> list[Result]:
    """See _erasure; rolled back at the end, so the dataset stays as it was for the next run."""
    with transaction.atomic():
        results = _erasure(samples)
        transaction.set_rollback(True)
    return results


def _erasure(samples: int) -> list[Result]:
    """p50/p95 latency to erase one contact with its related data (registry walk, history purge,
    suppression, erasure record) vs raw DELETE/UPDATE statements removing the same kinds of rows;
    and the tables any of the erasure's statements scanned in full."""
    from dsr.erasure import contacts_erase
    from dsr.residue import Identity, residue_scan

    officer = _officer()
    victims = _erasure_victims(samples, 0)
    others = _erasure_victims(samples, samples)

    statements: list[tuple[str, list]] = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, list(params or [])))
        return execute(sql, params, many, context)

    latencies = []
    for i, person in enumerate(victims):
        identity = Identity(person.email, person.phone, person.first_name, person.last_name)
        started = time.perf_counter()
        if i == 0:
            with connection.execute_wrapper(capture):
                contacts_erase(contacts=[person], actor=officer, scan=False)
        else:
            contacts_erase(contacts=[person], actor=officer, scan=False)
        latencies.append(time.perf_counter() - started)
    scan_started = time.perf_counter()
    residue_scan([identity])
    scan_s = time.perf_counter() - scan_started

    baseline = []
    with connection.cursor() as cursor:
        for person in others:
            started = time.perf_counter()
            with transaction.atomic():
                for sql in (
                    "DELETE FROM consent_purposeconsent WHERE contact_id = %s",
                    "DELETE FROM consent_historicalpurposeconsent WHERE contact_id = %s",
                    "DELETE FROM subscriptions_subscription WHERE contact_id = %s",
                    "DELETE FROM subscriptions_historicalsubscription WHERE contact_id = %s",
                    "UPDATE consent_consentchange SET contact_id = NULL, justification = '', evidence = '{}',"
                    " channel = '', pseudonymised = %s WHERE contact_id = %s",
                    "DELETE FROM contacts_contact WHERE id = %s",
                    "DELETE FROM contacts_historicalcontact WHERE id = %s",
                ):
                    cursor.execute(sql, [True, person.pk] if "pseudonymised" in sql else [person.pk])
            baseline.append(time.perf_counter() - started)

    def p95(values):
        return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]

    scans = _plan_scans(statements)
    extra = {
        "p95_ms": round(p95(latencies) * 1000, 1),
        "baseline_p95_ms": round(p95(baseline) * 1000, 1),
        "statements": len(statements),
        "full_scans_on_large_tables": ", ".join(scans) or "none",
        "residue_scan_ms": round(scan_s * 1000, 1),
    }
    return [
        Result(
            "erasure of one contact (p50)",
            Contact.objects.count(),
            statistics.median(latencies),
            statistics.median(baseline),
            extra=extra,
        )
    ]


# --- subscription center under gunicorn --------------------------------------------------------


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _workers_cpu_s(master_pid: int) -> float | None:
    """CPU seconds used so far by the gunicorn master's workers, from /proc (None elsewhere).

    On shared cores the requests per second of one run swing with other work; the workers' CPU
    time per request barely does, so it is reported next to them.
    """
    import glob
    import os

    total = None
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == master_pid:  # fields: state, ppid, ..., utime (12th), stime (13th)
            total = (total or 0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _load(
    port: int, path: str, method: str, seconds: float, concurrency: int, cookie: str = "", master_pid=None
) -> dict:
    import json
    import subprocess

    script = settings.BASE_DIR / "bench" / "load.py"
    args = [
        sys.executable,
        str(script),
        "127.0.0.1",
        str(port),
        path,
        method,
        str(concurrency),
        str(seconds),
        cookie,
    ]
    cpu_before = _workers_cpu_s(master_pid) if master_pid else None
    result = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    cpu_after = _workers_cpu_s(master_pid) if master_pid else None
    if cpu_before is not None and cpu_after is not None and result["requests"]:
        result["cpu_ms"] = (cpu_after - cpu_before) / result["requests"] * 1000
    return result


def subscription_center(seconds: float, concurrency: int = 4) -> list[Result]:
    """Requests per second of the subscription center (GET, and GET + POST of the unchanged form)
    under gunicorn with 2 workers on loopback, driven by a separate client process, vs a bare view
    rendering the same template with no query per request. Rate limits are off for the run."""
    import http.client
    import os
    import subprocess
    from urllib.parse import urlparse

    from subscriptions.services import center_link

    contact = Contact.objects.filter(
        processing_restricted=False, is_child=False, consent_given__gte=3
    ).first()
    link = urlparse(center_link(contact=contact)).path
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": _database_url(), "RATE_LIMITS_ENABLED": "false"}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "bench.wsgi:application",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=settings.BASE_DIR,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", link)
                response = conn.getresponse()
                response.read()
                break
            except OSError:
                time.sleep(0.1)
        cookie = "; ".join(
            part.split(";")[0] for part in response.headers.get_all("Set-Cookie") or [] if "sessionid" in part
        )
        bare = _load(port, "/bench/bare-center/", "GET", seconds, concurrency, master_pid=server.pid)
        get = _load(port, "/preferences/", "GET", seconds, concurrency, cookie, master_pid=server.pid)
        post = _load(port, "/preferences/", "POST", seconds, concurrency, cookie, master_pid=server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    n = Contact.objects.count()

    def row(name, measured, note):
        extra = {
            "per_s": round(measured["per_s"], 1),
            "baseline_per_s": round(bare["per_s"], 1),
            "statuses": measured["statuses"],
            "note": note,
        }
        if "cpu_ms" in measured and "cpu_ms" in bare:
            extra.update(cpu_ms=round(measured["cpu_ms"], 2), baseline_cpu_ms=round(bare["cpu_ms"], 2))
        return Result(name, n, 1 / measured["per_s"], 1 / bare["per_s"], extra=extra)

    return [
        row("subscription center GET (gunicorn -w 2)", get, f"{concurrency} client threads"),
        row("subscription center GET+POST (gunicorn -w 2)", post, "per pair; baseline is the bare GET"),
    ]


# --- journey enrolment ------------------------------------------------------------------------


def _bench_journey():
    """A live journey over "newsletter = yes" at Marketing, made once in the bench database."""
    from journeys.models import Journey, Segment
    from journeys.services import journey_create, journey_go_live, journey_step_add, segment_create

    journey = Journey.objects.filter(name="bench enrolment").first()
    if journey is not None:
        return journey
    segment = Segment.objects.filter(name="bench newsletter").first() or segment_create(
        name="bench newsletter", rules={"purpose": "newsletter", "value": True}
    )
    journey = journey_create(
        name="bench enrolment", segment=segment, purpose=Purpose.objects.get(slug="newsletter")
    )
    journey_step_add(journey=journey, kind="wait", wait_days=1)
    return journey_go_live(journey=journey)


def enrolment(repeat: int) -> list[Result]:
    """Contacts per second enrolled by journey_enrol (the segment through eligible_contacts, one
    INSERT ... SELECT) vs a hand-written INSERT ... SELECT of the same contacts. Each timed run
    starts from an empty journey (the DELETE is not timed)."""
    from django.utils import timezone

    from journeys.models import Enrolment
    from journeys.services import journey_enrol

    journey = _bench_journey()
    purpose = Purpose.objects.get(slug="newsletter")
    now = timezone.now()
    baseline_sql = (
        "INSERT INTO journeys_enrolment (journey_id, contact_id, due_at) SELECT %s, c.id, %s "
        "FROM contacts_contact c WHERE c.processing_restricted = %s AND c.consent_given >= %s "
        "AND EXISTS (SELECT 1 FROM consent_purposeconsent pc WHERE pc.contact_id = c.id "
        "AND pc.purpose_id = %s AND pc.granted = %s) ON CONFLICT DO NOTHING"
    )
    params = [journey.pk, connection.ops.adapt_datetimefield_value(now), False, 4, purpose.pk, True]

    def clear():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM journeys_enrolment WHERE journey_id = %s", [journey.pk])

    def product():
        return journey_enrol(journey=journey, now=now)

    def baseline():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(baseline_sql, params)
            return cursor.rowcount

    def median_of(fn):
        times, result = [], 0
        for _ in range(repeat + 1):  # the first run warms up
            clear()
            started = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - started)
        return statistics.median(times[1:]), result

    product_s, enrolled = median_of(product)
    enrolled_ids = set(Enrolment.objects.filter(journey=journey).values_list("contact_id", flat=True))
    baseline_s, baseline_enrolled = median_of(baseline)
    same = enrolled_ids == set(Enrolment.objects.filter(journey=journey).values_list("contact_id", flat=True))
    clear()
    extra = {
        "enrolled": enrolled,
        "baseline_enrolled": baseline_enrolled,
        "same_set": same,
        "per_s": round(enrolled / product_s) if product_s else None,
        "baseline_per_s": round(baseline_enrolled / baseline_s) if baseline_s else None,
    }
    return [Result("journey enrolment (INSERT ... SELECT)", enrolled, product_s, baseline_s, extra=extra)]


# --- consent import ---------------------------------------------------------------------------


def consent_import(repeat: int, rows: int) -> list[Result]:
    """Rows per second of a consent import (CSV through readers, unification, suppression check and
    consent_change per contact) vs a raw bulk upsert of the same answers with their change records."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from imports.models import ImportRun, ImportSource
    from imports.services import import_run_process

    purpose = Purpose.objects.get(slug="newsletter")
    source, _ = ImportSource.objects.get_or_create(
        name="Bench import",
        defaults={
            "key_column": "Consent ID",
            "email_column": "Email",
            "option_column": "Consent option",
            "value_column": "Consent value",
            "date_column": "Date",
        },
    )
    people = list(Contact.objects.exclude(email="").order_by("id").values_list("id", "email")[:rows])
    flip = {"value": True}

    def product():
        # Each run flips every answer, so every row is a real change (an unchanged row costs less).
        flip["value"] = not flip["value"]
        # Dated just now: later than every answer written before (the baseline's too), so no row is
        # refused as older than the contact's current answer.
        when = (timezone.now() - timezone.timedelta(seconds=1)).isoformat()
        answer = "yes" if flip["value"] else "no"
        lines = ["Consent ID,Email,Consent option,Consent value,Date"]
        lines += [f"bench-{pk},{email},Newsletter,{answer},{when}" for pk, email in people]
        content = ("\n".join(lines) + "\n").encode()
        run = ImportRun(source=source, file_name="bench.csv", file_sha256=hashlib.sha256(content).hexdigest())
        run.file.save("bench.csv", ContentFile(content), save=False)
        run.save()
        run = import_run_process(run_id=run.pk)
        assert run.status == ImportRun.Status.DONE and run.refused_rows == 0, (run.status, run.refused_rows)
        return run.applied_rows + run.unchanged_rows

    def baseline():
        flip["value"] = not flip["value"]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO consent_purposeconsent (contact_id, purpose_id, granted, changed_at, source)"
                " VALUES (%s, %s, %s, CURRENT_TIMESTAMP, 'import') ON CONFLICT (contact_id, purpose_id)"
                " DO UPDATE SET granted = excluded.granted, changed_at = excluded.changed_at",
                [(pk, purpose.pk, flip["value"]) for pk, _email in people],
            )
            cursor.executemany(
                "INSERT INTO consent_consentchange (contact_id, field, purpose_id, old_value, new_value, source,"
                " channel, justification, evidence, effective_at, recorded_at) VALUES (%s, 'purpose', %s, '',"
                " %s, 'import', '', '', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                [(pk, purpose.pk, str(flip["value"])) for pk, _email in people],
            )
        return len(people)

    product_s, n = timed(product, repeat)
    baseline_s, _ = timed(baseline, repeat)
    extra = {"rows": n, "rows_per_s": round(n / product_s), "baseline_rows_per_s": round(n / baseline_s)}
    return [Result("consent import (csv rows)", n, product_s, baseline_s, extra=extra)]
