"""The import's staged path (COPY into a staging table, set-based statements) against its general
path (consent_changes_apply): the same file gives the same report, answers, history, records and an
intact audit chain either way."""

import datetime as dt

import pytest

from consent.audit_chain import verify
from consent.models import ConsentChange, Purpose, PurposeConsent
from contacts.models import Contact
from contacts.suppression import suppression_add
from imports.models import ImportedConsent, ImportRun
from imports.services import staged
from tests.factories import ContactFactory, with_consent
from tests.imports.conftest import csv_bytes

pytestmark = pytest.mark.django_db

ROWS = [
    ["1", "holly@contoso.com", "Newsletter", "yes", "2026-03-01"],  # a twin holds a newer answer
    ["2", "old@contoso.com", "Product updates", "yes", "2026-03-01"],  # only a newer answer: older
    ["3", "gone@contoso.com", "Newsletter", "yes", "2026-03-01"],  # erased
    ["4", "holly@contoso.com", "Retired", "yes", "2026-03-01"],  # a retired purpose
    ["5", "new@contoso.com", "Newsletter", "no", "2026-03-01"],  # nobody yet: created
    ["6", "holly@contoso.com", "Newsletter", "maybe", "2026-03-01"],  # no consent value
    ["7", "holly@contoso.com", "Product updates", "no", "2026-03-01"],
]


@pytest.mark.parametrize("way", ["staged", "general"])
def test_both_ways_of_applying_a_chunk_give_the_same_outcome(
    source, run_import, logging_on, monkeypatch, way
):
    taken = []
    apply = staged.answers_apply_staged
    monkeypatch.setattr(staged, "answers_apply_staged", lambda **kw: taken.append(1) or apply(**kw))
    if way == "general":
        monkeypatch.setattr(staged, "staging_supported", lambda: False)
    Purpose.objects.create(name="Retired", slug="retired", active=False)
    holly = ContactFactory(email="holly@contoso.com")
    twin = with_consent(
        ContactFactory(email="Holly@contoso.com"),
        purposes={"newsletter": False},
        effective_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
    )
    old = with_consent(
        ContactFactory(email="old@contoso.com"),
        purposes={"product-updates": False},
        effective_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
    )
    suppression_add(email="gone@contoso.com", reason="DSR-0001")
    records_before = ConsentChange.objects.count()

    run = run_import(source, csv_bytes(ROWS))

    assert bool(taken) == (way == "staged")
    assert (run.status, run.applied_rows, run.unchanged_rows, run.changes) == (ImportRun.Status.DONE, 3, 0, 4)
    report = list(run.row_errors.values_list("row", "source_key", "reason"))
    assert [(row, key) for row, key, _reason in report] == [(3, "2"), (4, "3"), (5, "4"), (7, "6")]
    assert report[0][2].startswith("A newer answer for “Product updates” exists (given 2026-03-05")
    assert report[1][2] == "This person's data was erased; their rows are refused."
    assert report[2][2] == "The purpose “Retired” is retired."
    assert report[3][2].startswith("“maybe” is not a consent value")
    new = Contact.objects.get(email="new@contoso.com")
    answers = {
        (contact, slug): granted
        for contact, slug, granted in PurposeConsent.objects.values_list(
            "contact_id", "purpose__slug", "granted"
        )
    }
    assert answers == {
        (holly.pk, "newsletter"): True,
        (holly.pk, "product-updates"): False,
        (twin.pk, "newsletter"): False,  # newer than the row: kept
        (twin.pk, "product-updates"): False,
        (old.pk, "product-updates"): False,
        (new.pk, "newsletter"): False,
    }
    records = ConsentChange.objects.order_by("id")[records_before:]
    assert [
        (r.contact_id, r.purpose.slug, r.old_value, r.new_value, r.justification[-5:]) for r in records
    ] == [
        (holly.pk, "newsletter", "", "True", "row 2"),
        (new.pk, "newsletter", "", "False", "row 6"),
        (holly.pk, "product-updates", "", "False", "row 8"),
        (twin.pk, "product-updates", "", "False", "row 8"),
    ]
    assert records[0].evidence == {
        "import_run": run.pk,
        "import_source": "Web shop",
        "file": "export.csv",
        "row": 2,
        "source_key": "1",
    }
    history = PurposeConsent.history.filter(contact_id__in=[holly.pk, new.pk]).order_by("history_id")
    assert [(h.contact_id, h.granted, h.history_type, h.history_change_reason[-5:]) for h in history] == [
        (holly.pk, True, "+", "row 2"),
        (new.pk, False, "+", "row 6"),
        (holly.pk, False, "+", "row 8"),
    ]
    links = {ic.source_key: sorted(c.pk for c in ic.contacts.all()) for ic in ImportedConsent.objects.all()}
    assert links == {"1": sorted([holly.pk, twin.pk]), "5": [new.pk], "7": sorted([holly.pk, twin.pk])}
    assert verify().ok

    again = run_import(source, csv_bytes(ROWS))  # nothing changed: nothing written

    assert (again.applied_rows, again.unchanged_rows, again.changes) == (0, 3, 0)
    assert ConsentChange.objects.count() == records_before + 4


@pytest.mark.parametrize("mode", [ImportRun.Mode.VALID_ROWS, ImportRun.Mode.ALL_OR_NOTHING])
def test_a_first_big_import_leaves_the_planner_knowing_its_rows(source, run_import, settings, mode):
    """A first import into an empty table must not plan every chunk with the empty table's
    statistics (each chunk then reads every row of the source: quadratic at scale)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the planner's statistics are PostgreSQL's; SQLite plans by its indexes alone")
    settings.IMPORT_CHUNK_ROWS = 50
    rows = [[str(n), f"p{n}@contoso.com", "Newsletter", "yes", "2026-03-01"] for n in range(1200)]
    source.create_contacts = True
    source.save()

    run = run_import(source, csv_bytes(rows), mode=mode)

    assert (run.status, run.applied_rows) == (ImportRun.Status.DONE, 1200)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [ImportedConsent._meta.db_table])
        known = cursor.fetchone()[0]
    assert known >= 800  # analysed after 200, 400 and 800 rows: the planner counts them
