"""The bulk writer (core.bulk) writes the rows Django's ORM and simple-history would have written,
on SQLite and on PostgreSQL (DATABASE_URL=postgres://...), whichever path a database takes."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext_lazy

from consent.models import ConsentChange, Source
from contacts.models import Contact
from core import bulk
from core.bulk import (
    COPY_FROM,
    bulk_insert,
    bulk_insert_with_history,
    bulk_set,
    dialect,
    fetch_rows,
    history_insert,
    insert_rows,
    one_round_trip,
    tracked_values,
    write_rows,
)
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

# A few rows take one INSERT on PostgreSQL, many take COPY: every test of an insert runs both.
SIZES = [pytest.param(3, id="few"), pytest.param(COPY_FROM + 5, id="many")]


def new_contacts(count: int, **fields) -> list[Contact]:
    fields.setdefault("first_name", "Ann")
    return [Contact(email=f"ann{n}@example.org", **fields) for n in range(count)]


def emails(model=Contact, **filters) -> list[str]:
    return list(model.objects.filter(**filters).order_by("pk").values_list("email", flat=True))


def email_of(contact_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT email FROM contacts_contact WHERE id = %s", [contact_id])
        return cursor.fetchone()[0]


# --- dialect ------------------------------------------------------------------------------------


def test_the_dialect_is_chosen_once_per_connection_and_matches_the_database():
    chosen = dialect(connection)
    assert dialect() is chosen
    assert chosen.vendor == connection.vendor


def test_sqlite_without_update_from_and_other_databases_take_djangos_bulk_update():
    old_sqlite = SimpleNamespace(vendor="sqlite", Database=SimpleNamespace(sqlite_version_info=(3, 32, 0)))
    assert type(dialect(old_sqlite)) is bulk.SQLiteBefore333
    assert type(dialect(SimpleNamespace(vendor="oracle"))) is bulk.Generic


def test_the_planner_names_a_table_read_in_full_and_not_one_read_by_index():
    ContactFactory()
    with connection.cursor() as cursor:
        scans = dialect().full_scans(cursor, "SELECT * FROM contacts_contact WHERE first_name = %s", ["Ann"])
        by_pk = dialect().full_scans(cursor, "SELECT * FROM contacts_contact WHERE id = %s", [1])
    assert scans == {"contacts_contact"}
    assert by_pk == set()


@pytest.fixture
def generic(monkeypatch):
    """The default connection on the generic path, as a database without UPDATE ... FROM."""
    dialect()  # chosen first, so that the test's choice is the one undone afterwards
    monkeypatch.setattr(connections["default"], "_bulk_dialect", bulk.Generic())


def test_rows_locked_returns_the_rows_in_id_order():
    contacts = ContactFactory.create_batch(3)
    ids = [c.pk for c in reversed(contacts)]
    with connection.cursor():  # inside the test's transaction, as select_for_update needs
        locked = list(dialect().rows_locked(Contact, ids[:2]))
    assert [c.pk for c in locked] == sorted(ids[:2])


# --- bulk_insert --------------------------------------------------------------------------------


def test_bulk_insert_of_nothing_returns_the_list_and_asks_nothing():
    objs = []
    with CaptureQueriesContext(connection) as queries:
        assert bulk_insert(Contact, objs) is objs
    assert len(queries) == 0


@pytest.mark.parametrize("count", SIZES)
def test_bulk_insert_writes_every_row_and_gives_each_object_its_primary_key(count):
    objs = new_contacts(count, date_of_birth=None, guardian=None)
    before = timezone.now()
    assert bulk_insert(Contact, objs) == objs
    assert len({o.pk for o in objs}) == count and all(o.pk for o in objs)
    assert all(not o._state.adding and o._state.db == "default" for o in objs)
    stored = {c.pk: c for c in Contact.objects.filter(pk__in=[o.pk for o in objs])}
    assert [stored[o.pk].email for o in objs] == [o.email for o in objs]
    assert all(stored[o.pk].date_of_birth is None and stored[o.pk].guardian_id is None for o in objs)
    assert all(stored[o.pk].created_at >= before for o in objs)  # auto_now_add, as bulk_create


@pytest.mark.parametrize("count", SIZES)
def test_bulk_insert_keeps_the_primary_keys_it_is_given(count):
    objs = new_contacts(count)
    objs[0].pk = 10**9 + count
    bulk_insert(Contact, objs)
    assert objs[0].pk == 10**9 + count
    assert email_of(10**9 + count) == objs[0].email
    assert all(o.pk for o in objs)
    assert {o.pk: email_of(o.pk) for o in objs} == {o.pk: o.email for o in objs}


@pytest.mark.parametrize("count", SIZES)
def test_bulk_insert_writes_json_nulls_and_lazy_translations_as_the_orm_would(count):
    contact = ContactFactory()
    records = [
        ConsentChange(
            contact=contact,
            field="level",
            new_value=str(n),
            source=Source.IMPORT,
            justification=gettext_lazy("Imported"),
            evidence={"ip": "192.0.2.1", "n": n, "nested": [None, True]},
            # The seal's columns have database defaults, which the PostgreSQL path does not
            # resolve: callers seal first (consent.audit_chain.seal).
            **dict.fromkeys(["personal_digest", "subject_tag", "prev_hash", "chain_hash"], ""),
            pseudonymised=False,
        )
        for n in range(count)
    ]
    bulk_insert(ConsentChange, records)
    stored = list(ConsentChange.objects.filter(pk__in=[r.pk for r in records]).order_by("pk"))
    assert [r.evidence for r in stored] == [
        {"ip": "192.0.2.1", "n": n, "nested": [None, True]} for n in range(count)
    ]
    assert {r.justification for r in stored} == {"Imported"}
    assert all(r.purpose_id is None and r.actor_id is None for r in stored)


# --- history ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", SIZES)
def test_bulk_insert_with_history_writes_one_creation_row_per_object(count):
    officer = UserFactory()
    when = timezone.now() - dt.timedelta(days=1)
    objs = bulk_insert_with_history(Contact, new_contacts(count), user=officer, reason="import 7", date=when)
    history = list(Contact.history.filter(id__in=[o.pk for o in objs]).order_by("history_id"))
    assert [(h.id, h.email) for h in history] == [(o.pk, o.email) for o in objs]
    assert {
        (h.history_type, h.history_change_reason, h.history_user_id, h.history_date) for h in history
    } == {("+", "import 7", officer.pk, when)}


def test_bulk_insert_with_history_without_user_or_date_leaves_the_user_empty_and_dates_now():
    before = timezone.now()
    (obj,) = bulk_insert_with_history(Contact, new_contacts(1))
    (row,) = Contact.history.filter(id=obj.pk)
    assert row.history_user_id is None and row.history_change_reason == "" and row.history_date >= before


@pytest.mark.parametrize("count", SIZES)
def test_history_insert_writes_the_versions_in_order_with_their_kinds_and_reasons(count):
    (contact,) = bulk_insert(Contact, new_contacts(1, consent_given=1))
    versions = []
    for n in range(count):
        contact.consent_given = n % 6
        versions.append((tracked_values(contact), "~" if n % 2 else "-", f"step {n}"))
    history_insert(Contact, versions, user=None)
    rows = list(Contact.history.filter(id=contact.pk).order_by("history_id"))
    assert [(r.consent_given, r.history_type, r.history_change_reason) for r in rows] == [
        (n % 6, "~" if n % 2 else "-", f"step {n}") for n in range(count)
    ]
    assert {r.history_user_id for r in rows} == {None}


def test_history_insert_of_nothing_asks_nothing():
    with CaptureQueriesContext(connection) as queries:
        history_insert(Contact, [])
        insert_rows(ConsentChange, [])
    assert len(queries) == 0


def test_tracked_values_are_the_fields_history_keeps_by_attname():
    guardian = ContactFactory()
    child = ContactFactory(guardian=guardian, is_child=True)
    values = tracked_values(child)
    assert values["id"] == child.pk and values["guardian_id"] == guardian.pk and values["is_child"] is True
    assert "guardian" not in values
    assert "updated_at" not in values  # excluded from history (contacts.models)
    assert set(values) == {f.attname for f in Contact.history.model.tracked_fields}


# --- insert_rows --------------------------------------------------------------------------------


@pytest.mark.parametrize("count", SIZES)
def test_insert_rows_writes_plain_rows_with_json_and_nulls(count):
    contact = ContactFactory()
    now = timezone.now()
    rows = [
        {
            "contact_id": contact.pk if n % 2 else None,
            "field": "level",
            "purpose_id": None,
            "old_value": "",
            "new_value": str(n),
            "actor_id": None,
            "source": Source.IMPORT,
            "channel": "",
            "justification": gettext_lazy("Imported"),
            "evidence": {"row": n} if n % 3 else {},
            "effective_at": now,
            "recorded_at": now,
        }
        for n in range(count)
    ]
    insert_rows(ConsentChange, rows)
    stored = list(ConsentChange.objects.filter(recorded_at=now).order_by("pk"))
    assert [(r.contact_id, r.new_value, r.evidence, r.justification) for r in stored] == [
        (contact.pk if n % 2 else None, str(n), {"row": n} if n % 3 else {}, "Imported") for n in range(count)
    ]


# --- bulk_set -----------------------------------------------------------------------------------


def test_bulk_set_of_nothing_asks_nothing():
    with CaptureQueriesContext(connection) as queries:
        bulk_set(Contact, [], ["email"])
    assert len(queries) == 0


def _bulk_set_writes_only_the_named_fields_of_the_given_rows():
    guardian = ContactFactory()
    *contacts, untouched = bulk_insert(Contact, new_contacts(6, consent_given=1, first_name="Old"))
    history_before = Contact.history.count()
    for n, contact in enumerate(contacts):
        contact.consent_given = n
        contact.guardian = guardian if n % 2 else None
        contact.first_name = "New"  # not named: stays
    contacts[0].date_of_birth = None
    contacts[1].date_of_birth = dt.date(2001, 2, 3)
    bulk_set(Contact, contacts, ["consent_given", "guardian", "date_of_birth"], batch_size=2)
    stored = {c.pk: c for c in Contact.objects.all()}
    assert [stored[c.pk].consent_given for c in contacts] == [0, 1, 2, 3, 4]
    assert [stored[c.pk].guardian_id for c in contacts] == [None, guardian.pk, None, guardian.pk, None]
    assert stored[contacts[0].pk].date_of_birth is None
    assert stored[contacts[1].pk].date_of_birth == dt.date(2001, 2, 3)
    assert {stored[c.pk].first_name for c in contacts} == {"Old"}
    assert (stored[untouched.pk].consent_given, stored[untouched.pk].first_name) == (1, "Old")
    assert Contact.history.count() == history_before  # as update(): history is the caller's part


def test_bulk_set_writes_only_the_named_fields_of_the_given_rows():
    _bulk_set_writes_only_the_named_fields_of_the_given_rows()


def test_bulk_set_on_the_generic_path_writes_the_same(generic):
    _bulk_set_writes_only_the_named_fields_of_the_given_rows()


def test_bulk_insert_on_the_generic_path_writes_the_same(generic):
    objs = bulk_insert_with_history(Contact, new_contacts(3), reason="generic")
    assert emails(pk__in=[o.pk for o in objs]) == [o.email for o in objs]
    assert Contact.history.filter(id__in=[o.pk for o in objs], history_change_reason="generic").count() == 3


# --- write_rows, fetch_rows, one_round_trip ----------------------------------------------------


def test_write_rows_outside_a_round_trip_runs_at_once():
    contact = ContactFactory(email="before@example.org")
    write_rows("UPDATE contacts_contact SET email = %s WHERE id = %s", ["after@example.org", contact.pk])
    assert email_of(contact.pk) == "after@example.org"


def test_fetch_rows_returns_the_rows_of_its_statement():
    contact = ContactFactory(email="one@example.org")
    assert fetch_rows("SELECT id, email FROM contacts_contact WHERE id = %s", [contact.pk]) == [
        (contact.pk, "one@example.org")
    ]


def test_a_read_in_a_round_trip_sees_the_writes_queued_before_it_in_one_round_trip():
    contact = ContactFactory(email="before@example.org")
    with CaptureQueriesContext(connection) as queries, one_round_trip():
        write_rows("UPDATE contacts_contact SET email = %s WHERE id = %s", ["mid@example.org", contact.pk])
        write_rows("UPDATE contacts_contact SET first_name = %s WHERE id = %s", ["Mid", contact.pk])
        rows = fetch_rows("SELECT email, first_name FROM contacts_contact WHERE id = %s", [contact.pk])
    assert rows == [("mid@example.org", "Mid")]
    # PostgreSQL sends the three statements in one execute(); SQLite runs each on its own.
    assert len(queries) == (1 if dialect().queues_writes else 3)


def test_writes_queued_in_a_round_trip_are_written_when_it_ends():
    contact = ContactFactory(email="before@example.org")
    with one_round_trip():
        write_rows("UPDATE contacts_contact SET email = %s WHERE id = %s", ["end@example.org", contact.pk])
        history_insert(Contact, [(tracked_values(contact), "~", "queued")])
        if dialect().queues_writes:
            assert len(connection._waiting_writes) == 2
    assert email_of(contact.pk) == "end@example.org"
    assert Contact.history.filter(id=contact.pk, history_change_reason="queued").count() == 1


def test_a_nested_round_trip_leaves_the_writing_to_the_outer_one():
    contact = ContactFactory(email="before@example.org")
    with CaptureQueriesContext(connection) as queries, one_round_trip():
        with one_round_trip():
            write_rows("UPDATE contacts_contact SET email = %s WHERE id = %s", ["a@example.org", contact.pk])
        write_rows("UPDATE contacts_contact SET first_name = %s WHERE id = %s", ["B", contact.pk])
    assert len(queries) == (1 if dialect().queues_writes else 2)
    assert fetch_rows("SELECT email, first_name FROM contacts_contact WHERE id = %s", [contact.pk]) == [
        ("a@example.org", "B")
    ]


def test_a_failed_round_trip_leaves_nothing_queued_for_later_writes():
    contact = ContactFactory(email="before@example.org")
    with pytest.raises(RuntimeError), one_round_trip():
        raise RuntimeError("the block failed")
    assert getattr(connection, "_waiting_writes", None) is None
    write_rows("UPDATE contacts_contact SET email = %s WHERE id = %s", ["later@example.org", contact.pk])
    assert email_of(contact.pk) == "later@example.org"


def test_a_few_rows_in_a_round_trip_travel_with_the_next_read():
    """A consent change: its record (INSERT ... RETURNING) and history rows in one round trip on
    PostgreSQL; bulk_insert of many rows (COPY) first sends what waits."""
    contact = ContactFactory()
    with CaptureQueriesContext(connection) as queries, one_round_trip():
        history_insert(Contact, [(tracked_values(contact), "~", "few")])
        (obj,) = bulk_insert(Contact, new_contacts(1))
    assert Contact.history.filter(id=contact.pk, history_change_reason="few").count() == 1
    assert email_of(obj.pk) == obj.email
    if dialect().queues_writes:
        assert len(queries) == 1
