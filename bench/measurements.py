"""Each measurement times the product's way and a baseline (the best this database or library
could do) side by side in the same run. Nothing here is asserted: the figures are reported."""

from __future__ import annotations

import statistics
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field

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
    """Changes per second through the consent service vs a raw UPDATE + INSERT of the same rows."""
    # Contacts already at level 1 or 2, flipped between the two: the dataset keeps its shape.
    ids = list(
        Contact.objects.filter(consent_given__in=[1, 2]).order_by("id").values_list("id", flat=True)[:batch]
    )
    contacts = list(Contact.objects.filter(id__in=ids))
    flip = {"value": 1}

    def product():
        flip["value"] = 2 if flip["value"] == 1 else 1
        for contact in contacts:
            consent_change(contact=contact, level=flip["value"], source=Source.IMPORT)
        return len(contacts)

    def baseline():
        flip["value"] = 2 if flip["value"] == 1 else 1
        with transaction.atomic(), connection.cursor() as cursor:
            for pk in ids:
                cursor.execute(
                    "UPDATE contacts_contact SET consent_given = %s WHERE id = %s", [flip["value"], pk]
                )
                cursor.execute(
                    "INSERT INTO consent_consentchange (contact_id, field, old_value, new_value, source, channel,"
                    " justification, evidence, effective_at, recorded_at) VALUES (%s, 'consent_given', '1', %s,"
                    " 'import', '', '', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                    [pk, str(flip["value"])],
                )
        return len(ids)

    product_s, n = timed(product, repeat)
    baseline_s, _ = timed(baseline, repeat)
    extra = {"changes": n, "per_s": round(n / product_s), "baseline_per_s": round(n / baseline_s)}
    return [Result("consent changes (service)", n, product_s, baseline_s, extra=extra)]


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
        day = (timezone.localdate() - timezone.timedelta(days=1)).isoformat()
        answer = "yes" if flip["value"] else "no"
        lines = ["Consent ID,Email,Consent option,Consent value,Date"]
        lines += [f"bench-{pk},{email},Newsletter,{answer},{day}" for pk, email in people]
        content = ("\n".join(lines) + "\n").encode()
        run = ImportRun(source=source, file_name="bench.csv", file_sha256=hashlib.sha256(content).hexdigest())
        run.file.save("bench.csv", ContentFile(content), save=False)
        run.save()
        run = import_run_process(run_id=run.pk)
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
