"""An import's dates of the person's last action (a purchase in the shop) become each contact's
last real action, set-based for the chunk (issue 21, scope 2)."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from tests.factories import ContactFactory
from tests.imports.conftest import csv_bytes

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
HEADER = ["Consent ID", "Email", "Consent option", "Consent value", "Date", "Last purchase"]


def test_an_import_with_purchases_moves_each_last_action_in_one_statement(source, run_import):
    source.last_action_column = "Last purchase"
    source.save()
    known = ContactFactory(email="known@example.org")
    rows = [
        [str(n), f"buyer{n}@example.org", "Newsletter", "False", "2026-01-01", f"2026-05-{n + 1:02d}"]
        for n in range(1, 9)
    ]
    rows.append(["20", "known@example.org", "Newsletter", "False", "2026-01-01", "2026-04-30"])
    rows.append(["21", "nobuy@example.org", "Newsletter", "False", "2026-01-01", ""])

    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        run = run_import(source, csv_bytes(rows, header=HEADER))

    assert run.status == run.Status.DONE, run.row_errors.values_list("reason", flat=True)
    last = dict(Contact.objects.values_list("email", "last_action_at"))
    assert last["buyer3@example.org"] == dt.datetime(2026, 5, 4, tzinfo=dt.UTC)
    assert last[known.email] == dt.datetime(2026, 4, 30, tzinfo=dt.UTC)
    assert last["nobuy@example.org"] is None  # a "no" imported is no action, and no purchase
    updates = [
        q["sql"] for q in queries.captured_queries if "last_action_at" in q["sql"] and "UPDATE" in q["sql"]
    ]
    assert len(updates) == 1  # ten rows, one statement


def test_a_purchase_dated_in_the_future_is_refused_with_its_reason(source, run_import):
    source.last_action_column = "Last purchase"
    source.save()
    rows = [["1", "ada@example.org", "Newsletter", "True", "2026-01-01", "2027-01-01"]]
    with time_machine.travel(NOW, tick=False):
        run = run_import(source, csv_bytes(rows, header=HEADER))
    assert list(run.row_errors.values_list("reason", flat=True)) == [
        "The date of the last action lies in the future."
    ]
    assert not Contact.objects.filter(email="ada@example.org").exists()
