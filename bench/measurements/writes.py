"""Writes: consent changes through the service, journey enrolment, a consent import."""

from __future__ import annotations

from django.db import connection, transaction

from bench.measurements.common import Result, timed, timed_from
from consent.models import Purpose, Source
from consent.services import consent_change
from contacts.models import Contact

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
    return [*results, *api_consent_writes(repeat, batch)]


def api_consent_writes(repeat: int, batch: int) -> list[Result]:
    """Consent writes per second over the API (POST /api/v1/contacts/{id}/consent/ with a privacy
    officer's key) vs a bare DRF endpoint with the same key check doing the raw UPDATE and INSERT
    (bench/urls.py). Both through Django's test client in this process, the whole middleware stack
    included, one request per change, DEBUG and throttling off on both sides; with the statements
    one product write sends."""
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext
    from rest_framework.views import APIView

    from bench.measurements.common import officer
    from staff.api_auth import api_key_create

    ids = list(
        Contact.objects.filter(consent_given__in=[1, 2]).order_by("id").values_list("id", flat=True)[:batch]
    )
    _key, text = api_key_create(user=officer(), name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Token {text}")
    flip = {"value": 1}

    def run(url):
        def requests():
            flip["value"] = 2 if flip["value"] == 1 else 1
            body = {"level": flip["value"]}
            for pk in ids:
                response = client.post(url.format(pk=pk), body, content_type="application/json")
                assert response.status_code == 200, (response.status_code, response.content[:300])
            return len(ids)

        return requests

    # Throttling keeps a growing list of request times per user in the cache: off on both sides
    # (views read it from APIView when their class is made, not from the settings per request).
    throttles, APIView.throttle_classes = APIView.throttle_classes, []
    with override_settings(
        DEBUG=False, ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False, ROOT_URLCONF="bench.urls"
    ):
        try:
            product_s, n = timed(run("/api/v1/contacts/{pk}/consent/"), repeat)
            baseline_s, _ = timed(run("/bench/bare-consent/{pk}/"), repeat)
            # Counted on the second of two writes: the first may note the key's use (once a minute).
            other = {"level": 2 if flip["value"] == 1 else 1}
            for pk in ids[:2]:
                with CaptureQueriesContext(connection) as statements:
                    client.post(f"/api/v1/contacts/{pk}/consent/", other, content_type="application/json")
        finally:
            APIView.throttle_classes = throttles
    extra = {
        "writes": n,
        "per_s": round(n / product_s),
        "baseline_per_s": round(n / baseline_s),
        "statements_per_write": len(statements),
    }
    return [Result("consent writes (API vs bare DRF)", n, product_s, baseline_s, extra=extra)]


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
        return timed_from(clear, fn, repeat)

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
    """Rows per second of a consent import (CSV through readers, unification, suppression check,
    the staged consent service) vs two baselines: a raw bulk upsert of the same answers with their
    change records (executemany), and COPY of the same rows into a staging table plus one
    hand-written INSERT ... SELECT per table the import writes (answers, their history, change
    records, imported consent and its contact links: no checks, no seal)."""
    purpose = Purpose.objects.get(slug="newsletter")
    source = _import_source()
    copy_source = _import_source("Bench import (COPY baseline)")
    people = list(Contact.objects.exclude(email="").order_by("id").values_list("id", "email")[:rows])
    flip = {"value": True}

    def product():
        # Each run flips every answer, so every row is a real change (an unchanged row costs less).
        flip["value"] = not flip["value"]
        return _import_answers(source, people, granted=flip["value"])

    def baseline():
        flip["value"] = not flip["value"]
        return _upsert_answers(purpose, people, granted=flip["value"])

    def copy_baseline():
        flip["value"] = not flip["value"]
        return _copy_answers(copy_source, purpose, people, granted=flip["value"])

    product_s, n = timed(product, repeat)
    baseline_s, _ = timed(baseline, repeat)
    copy_s, _ = timed(copy_baseline, repeat)
    extra = {"rows": n, "rows_per_s": round(n / product_s), "baseline_rows_per_s": round(n / baseline_s)}
    copy_extra = {"rows": n, "rows_per_s": round(n / product_s), "baseline_rows_per_s": round(n / copy_s)}
    return [
        Result("consent import (csv rows)", n, product_s, baseline_s, extra=extra),
        Result("consent import vs COPY + INSERT ... SELECT", n, product_s, copy_s, extra=copy_extra),
    ]


def _import_source(name: str = "Bench import"):
    from imports.models import ImportSource

    source, _ = ImportSource.objects.get_or_create(
        name=name,
        defaults={
            "key_column": "Consent ID",
            "email_column": "Email",
            "option_column": "Consent option",
            "value_column": "Consent value",
            "date_column": "Date",
        },
    )
    return source


def _import_answers(source, people: list[tuple[int, str]], *, granted: bool) -> int:
    """One import run of a CSV giving every person the answer `granted`; the rows it took."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from imports.models import ImportRun
    from imports.services import import_run_process

    # Dated just now: later than every answer written before (the baseline's too), so no row is
    # refused as older than the contact's current answer.
    when = (timezone.now() - timezone.timedelta(seconds=1)).isoformat()
    answer = "yes" if granted else "no"
    lines = ["Consent ID,Email,Consent option,Consent value,Date"]
    lines += [f"bench-{pk},{email},Newsletter,{answer},{when}" for pk, email in people]
    content = ("\n".join(lines) + "\n").encode()
    run = ImportRun(source=source, file_name="bench.csv", file_sha256=hashlib.sha256(content).hexdigest())
    run.file.save("bench.csv", ContentFile(content), save=False)
    run.save()
    run = import_run_process(run_id=run.pk)
    assert run.status == ImportRun.Status.DONE and run.refused_rows == 0, (run.status, run.refused_rows)
    return run.applied_rows + run.unchanged_rows


def _upsert_answers(purpose, people: list[tuple[int, str]], *, granted: bool) -> int:
    """The baseline: the same answers and their change records by raw bulk upsert."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO consent_purposeconsent (contact_id, purpose_id, granted, changed_at, source)"
            " VALUES (%s, %s, %s, CURRENT_TIMESTAMP, 'import') ON CONFLICT (contact_id, purpose_id)"
            " DO UPDATE SET granted = excluded.granted, changed_at = excluded.changed_at",
            [(pk, purpose.pk, granted) for pk, _email in people],
        )
        cursor.executemany(
            "INSERT INTO consent_consentchange (contact_id, field, purpose_id, old_value, new_value, source,"
            " channel, justification, evidence, effective_at, recorded_at) VALUES (%s, 'purpose', %s, '',"
            " %s, 'import', '', '', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            [(pk, purpose.pk, str(granted)) for pk, _email in people],
        )
    return len(people)


def _copy_answers(source, purpose, people: list[tuple[int, str]], *, granted: bool) -> int:
    """The COPY baseline: the rows as the file has them (key, email, answer, date) COPYed into a
    staging table (executemany on SQLite), then one hand-written INSERT ... SELECT per table the
    import writes, matching the contacts by email in SQL. No checks, no history of refusals, no seal."""
    from django.utils import timezone

    from core.bulk import stage_rows

    when = timezone.now() - timezone.timedelta(seconds=1)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = [
        ("source_key", "varchar(200)"),
        ("email", "text"),
        ("granted", "boolean"),
        ("at", "timestamptz"),
    ]
    with transaction.atomic():
        stage_rows(
            "bench_stage_rows",
            columns,
            [(f"bench-{pk}", email, granted, when) for pk, email in people],
        )
        with connection.cursor() as cursor:
            matched = (
                "FROM bench_stage_rows s JOIN contacts_contact c ON c.email = s.email"
                " JOIN consent_purposeconsent pc ON pc.contact_id = c.id AND pc.purpose_id = %s"
            )
            cursor.execute(
                "INSERT INTO consent_purposeconsent (contact_id, purpose_id, granted, changed_at, source)"
                " SELECT c.id, %s, s.granted, s.at, 'import' FROM bench_stage_rows s JOIN contacts_contact c"
                " ON c.email = s.email WHERE true ON CONFLICT (contact_id, purpose_id)"
                " DO UPDATE SET granted = excluded.granted, changed_at = excluded.changed_at,"
                " source = excluded.source",
                [purpose.pk],
            )
            cursor.execute(
                "INSERT INTO consent_historicalpurposeconsent (id, contact_id, purpose_id, granted, changed_at,"
                " source, history_date, history_change_reason, history_type)"
                f" SELECT pc.id, c.id, %s, s.granted, s.at, 'import', %s, 'import', '~' {matched}",
                [purpose.pk, now, purpose.pk],
            )
            cursor.execute(
                "INSERT INTO consent_consentchange (contact_id, field, purpose_id, old_value, new_value, source,"
                " channel, justification, evidence, effective_at, recorded_at)"
                " SELECT c.id, 'purpose', %s, '', CASE WHEN s.granted THEN 'True' ELSE 'False' END, 'import',"
                " '', '', '{}', s.at, %s FROM bench_stage_rows s JOIN contacts_contact c ON c.email = s.email",
                [purpose.pk, now],
            )
            cursor.execute(
                "INSERT INTO imports_importedconsent (source_id, source_key, digest, purpose_id, granted,"
                " effective_at, updated_at) SELECT %s, s.source_key, '', %s, s.granted, s.at, %s"
                " FROM bench_stage_rows s WHERE true ON CONFLICT (source_id, source_key) DO UPDATE SET"
                " granted = excluded.granted, effective_at = excluded.effective_at,"
                " updated_at = excluded.updated_at",
                [source.pk, purpose.pk, now],
            )
            cursor.execute(
                "INSERT INTO imports_importedconsent_contacts (importedconsent_id, contact_id)"
                " SELECT ic.id, c.id FROM bench_stage_rows s JOIN imports_importedconsent ic"
                " ON ic.source_id = %s AND ic.source_key = s.source_key"
                " JOIN contacts_contact c ON c.email = s.email WHERE true ON CONFLICT DO NOTHING",
                [source.pk],
            )
    return len(people)
