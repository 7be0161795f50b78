"""How many SQL statements one consent write sends (issue 24): one change through the service, one
through the API. The counts are pinned, so a statement that creeps back (a second load of the
contact, a permission read per check, the access log in a transaction of its own) fails here,
and everything each write must leave behind is checked beside them: the rows, their history, the
sealed record, the outbox event with its delivery, the access log line.

PostgreSQL sends the reads and writes of a step together in one execute() (core.bulk); SQLite
runs each on its own, so it counts more. The test runs inside a transaction: every atomic block
is a savepoint here (SAVEPOINT and RELEASE count two), where production sends BEGIN and COMMIT,
which are not counted."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime

from consent.audit_chain import verify
from consent.models import ConsentChange, Purpose, PurposeConsent, Source
from consent.services import consent_change
from contacts.models import Contact
from staff.api_auth import api_key_create
from staff.models import AccessLogEntry
from tests.factories import ContactFactory, with_consent
from webhooks.models import Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db

# vendor → statements: lock with the settings, wording and receivers; the row writes with the
# chain's lock; the chain's head with the records; the event; its delivery; plus the savepoint.
SERVICE = {"postgresql": 7, "sqlite": 18}
# The key, the role and permissions, the contact, the service's statements above, the answers
# for the response, the access log line.
API = {"postgresql": 12, "sqlite": 26}


@pytest.fixture
def holly(logging_on):
    Purpose.objects.create(name="Newsletter", slug="newsletter")
    Endpoint.objects.create(name="Web shop", url="http://placeholder.invalid/")
    return with_consent(ContactFactory(email="holly@contoso.com"), level=3, purposes={"newsletter": True})


def test_one_consent_change_through_the_service_sends_its_pinned_statements(holly):
    events_before = Event.objects.count()
    with CaptureQueriesContext(connection) as statements:
        records = consent_change(contact=holly, source=Source.IMPORT, level=4, purposes={"newsletter": False})
    assert len(statements) == SERVICE[connection.vendor], "\n".join(q["sql"][:120] for q in statements)
    holly.refresh_from_db()
    answer = PurposeConsent.objects.get(contact=holly)
    assert (holly.consent_given, answer.granted) == (4, False)
    assert [(r.field, r.old_value, r.new_value) for r in records] == [
        ("consent_given", "3", "4"),
        ("purpose", "True", "False"),
    ]
    assert list(ConsentChange.objects.filter(pk__in=[r.pk for r in records]).order_by("pk")) == records
    assert verify().ok
    assert holly.history.first().consent_given == 4 and answer.history.first().granted is False
    assert Event.objects.count() - events_before == 2  # one per changed field, each with its delivery
    assert Delivery.objects.filter(event__in=Event.objects.order_by("-id")[:2]).count() == 2


def test_one_consent_write_through_the_api_sends_its_pinned_statements(holly, privacy_officer):
    _key, text = api_key_create(user=privacy_officer, name="web shop")
    url = f"/api/v1/contacts/{holly.pk}/consent/"
    client = Client(HTTP_AUTHORIZATION=f"Token {text}")
    client.post(url, {"level": 2}, content_type="application/json")  # the key's first use is written
    events_before = Event.objects.count()
    with CaptureQueriesContext(connection) as statements:
        response = client.post(
            url, {"level": 4, "purposes": {"newsletter": False}}, content_type="application/json"
        )
    assert response.status_code == 200
    assert len(statements) == API[connection.vendor], "\n".join(q["sql"][:120] for q in statements)
    body = response.json()
    assert body["contact"]["consent_given"] == 4
    assert [(p["purpose"], p["granted"]) for p in body["contact"]["purposes"]] == [("newsletter", False)]
    assert [(c["field"], c["old_value"], c["new_value"]) for c in body["changes"]] == [
        ("consent_given", "2", "4"),
        ("purpose", "True", "False"),
    ]
    assert parse_datetime(body["contact"]["updated_at"]) == Contact.objects.get(pk=holly.pk).updated_at
    assert verify().ok
    entry = AccessLogEntry.objects.latest("id")
    assert (entry.action, entry.contact_count, entry.path) == ("api_read", 1, url)
    assert list(entry.contacts.values_list("contact_id", flat=True)) == [holly.pk]
    assert Event.objects.count() - events_before == 2
    assert Delivery.objects.filter(event__in=Event.objects.order_by("-id")[:2]).count() == 2
