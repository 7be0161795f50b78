"""Delivery receipts through the API: which downstream system got which event about whom and
whether it acknowledged it, for the roles that may see deliveries, restricted contacts' only for
the officer, an erased person's still findable by the id they had."""

import pytest
from django.utils import timezone

from consent.models import Source
from consent.services import consent_change
from contacts.services import contact_update
from tests.factories import ContactFactory
from webhooks.models import Attempt, Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm(db):
    return Endpoint.objects.create(name="CRM", url="https://crm.example.org/hooks")


def test_receipts_of_a_contact_with_their_attempts_and_acknowledgement(api_as, auditor, crm):
    holly, other = ContactFactory(), ContactFactory()
    consent_change(contact=holly, level=2, source=Source.IMPORT)
    consent_change(contact=other, level=2, source=Source.IMPORT)
    delivery = Delivery.objects.get(event__contact=holly)
    Attempt.objects.create(delivery=delivery, status_code=204, latency_ms=12)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.DELIVERED, delivered_at=timezone.now(), last_status_code=204, attempts=1
    )
    response = api_as(auditor).get("/api/v1/deliveries/", {"contact": holly.pk})
    assert response.status_code == 200
    (receipt,) = response.json()["results"]
    assert receipt["contact"] == holly.pk and receipt["endpoint"] == "CRM"
    assert receipt["type"] == "consent.changed" and receipt["acknowledged"] is True
    assert receipt["attempt_log"][0]["status_code"] == 204
    assert receipt["event"] == delivery.event.uid
    by_event = api_as(auditor).get("/api/v1/deliveries/", {"event": delivery.event.uid}).json()["results"]
    assert [r["id"] for r in by_event] == [delivery.pk]


def test_a_system_that_confirms_by_callback_has_not_acknowledged_a_mere_2xx(api_as, privacy_officer, crm):
    crm.confirms = True
    crm.save()
    holly = ContactFactory()
    consent_change(contact=holly, level=2, source=Source.IMPORT)
    Delivery.objects.update(status=Delivery.Status.DELIVERED, delivered_at=timezone.now())
    (receipt,) = api_as(privacy_officer).get("/api/v1/deliveries/").json()["results"]
    assert receipt["status"] == "delivered" and receipt["acknowledged"] is False


def test_an_erased_persons_receipts_stay_findable_by_the_id_they_had(api_as, privacy_officer, crm):
    holly = ContactFactory()
    consent_change(contact=holly, level=2, source=Source.IMPORT)
    pk = holly.pk
    Event.objects.update(contact=None)  # as erasure leaves it (SET_NULL; the subject stays)
    (receipt,) = api_as(privacy_officer).get("/api/v1/deliveries/", {"contact": pk}).json()["results"]
    assert receipt["contact"] is None and receipt["subject"] == f"contact:{pk}"


def test_a_restricted_contacts_receipts_reach_only_the_officer(api_as, auditor, privacy_officer, crm):
    kept = ContactFactory(email="kept@contoso.com")
    contact_update(contact=kept, processing_restricted=True, reason="DSR restriction")  # an event itself
    assert Delivery.objects.exists()
    delivery = Delivery.objects.first()
    assert api_as(auditor).get("/api/v1/deliveries/").json()["results"] == []
    assert api_as(auditor).get(f"/api/v1/deliveries/{delivery.pk}/").status_code == 404
    assert api_as(privacy_officer).get(f"/api/v1/deliveries/{delivery.pk}/").status_code == 200


def test_a_marketer_reads_no_receipts(api_as, marketer, crm):
    consent_change(contact=ContactFactory(), level=2, source=Source.IMPORT)
    assert api_as(marketer).get("/api/v1/deliveries/").status_code == 403


@pytest.mark.parametrize("query", [{"contact": ""}, {"contact": "abc"}, {"type": "nope"}, {"status": "gone"}])
def test_an_unreadable_filter_is_refused_not_ignored(api_as, privacy_officer, crm, query):
    response = api_as(privacy_officer).get("/api/v1/deliveries/", query)
    assert response.status_code == 400 and set(query) <= set(response.json())
