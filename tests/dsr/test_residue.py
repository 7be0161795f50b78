"""The residue scan over big tables: one range of ids at a time, the same counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from dsr.residue import Identity, residue_scan
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_the_scan_reads_a_table_in_ranges_of_ids_and_counts_every_row_once(settings):
    """At ten million contacts one pass over a table was one statement holding its snapshot for
    minutes: LONG_JOB_BATCH_SIZE ids per statement, and the counts add up over the ranges."""
    settings.LONG_JOB_BATCH_SIZE = 150  # at least the rows of the test database's small tables
    for n, pk in enumerate(range(10_000, 10_500, 100)):  # ids spanning three ranges of 150
        contact = ContactFactory(email="anna@example.org" if n % 2 == 0 else f"other{n}@example.org")
        Contact.objects.filter(pk=contact.pk).update(id=pk)
    with CaptureQueriesContext(connection) as queries:
        report = residue_scan([Identity(email="anna@example.org")], files=False)
    hits = {(h["table"], h["column"]): h["rows"] for h in report.hits}
    assert hits[("contacts_contact", "email")] == 3
    counts = [q["sql"] for q in queries if 'FROM "contacts_contact"' in q["sql"] and "COUNT(" in q["sql"]]
    assert len(counts) == 3  # ids 10000-10149, 10150-10299, 10300-10449: one statement each
