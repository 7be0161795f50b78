"""Events reach downstream systems through the outbox: signed, in order per person, retried until
a 2xx, every attempt recorded, against a real HTTP receiver on loopback."""

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import Source
from consent.services import consent_change
from dsr.erasure import contacts_erase
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services import subscription_set
from tests.factories import ContactFactory
from tests.webhooks.receiver import Receiver
from webhooks.delivery import deliveries_claim, deliveries_run
from webhooks.models import Attempt, Delivery, Endpoint, Event, EventType
from webhooks.services import endpoint_resume

pytestmark = pytest.mark.django_db


def level(contact, value):
    consent_change(contact=contact, level=value, source=Source.IMPORT)


def time_passes():
    """Every waiting delivery is due (as if the backoff had run out)."""
    Delivery.objects.filter(status=Delivery.Status.PENDING).update(next_attempt_at=timezone.now())


def test_consent_change_reaches_the_endpoint_signed(receiver):
    contact = ContactFactory()
    level(contact, 3)

    assert deliveries_run() == 1

    (event,) = receiver.received  # the receiver verified the signature with its secret
    assert event["type"] == "consent.changed"
    assert event["data"]["contact"] == {"id": contact.pk}
    assert (event["data"]["field"], event["data"]["new"], event["data"]["source"]) == (
        "consent_given",
        3,
        "import",
    )
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.event.uid == event["id"]
    assert list(Attempt.objects.values_list("status_code", flat=True)) == [204]


def test_subscribe_and_unsubscribe_reach_the_endpoint(receiver):
    contact = ContactFactory()
    news = SubscriptionList.objects.create(name="News", slug="news")
    for status in (
        Subscription.Status.PENDING,
        Subscription.Status.SUBSCRIBED,
        Subscription.Status.UNSUBSCRIBED,
    ):
        subscription_set(
            contact=contact, subscription_list=news, status=status, source=Source.SUBSCRIPTION_CENTER
        )

    deliveries_run()

    assert receiver.types() == ["subscription.subscribed", "subscription.unsubscribed"]
    assert {e["data"]["list"] for e in receiver.received} == {"news"}


def test_a_person_s_events_wait_in_order_while_the_endpoint_is_down(receiver):
    first, second = ContactFactory(), ContactFactory()
    receiver.answer = 503
    level(first, 2)
    level(second, 2)
    level(first, 3)

    assert deliveries_run() == 0
    # The first person's second event waits behind the first: posting it could overtake.
    assert Attempt.objects.count() == 2
    tried = list(receiver.posted)

    receiver.answer = 204
    time_passes()
    assert deliveries_run() == 3

    news = [(e["data"]["contact"]["id"], e["data"]["new"]) for e in receiver.received]
    assert [n for n in news if n[0] == first.pk] == [(first.pk, 2), (first.pk, 3)]
    assert set(tried) <= {e["id"] for e in receiver.received}  # a retry keeps its webhook-id
    assert not Delivery.objects.filter(status=Delivery.Status.PENDING).exists()


def test_an_endpoint_that_is_gone_does_not_stop_writes_and_catches_up(receiver):
    contact = ContactFactory()
    receiver.stop()

    level(contact, 2)  # the write commits; nothing is posted inside it

    assert contact.consent_given == 2
    assert deliveries_run() == 0
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.last_error
    assert delivery.next_attempt_at > timezone.now()

    back = Receiver(receiver.secret)
    Endpoint.objects.update(url=back.url)
    time_passes()
    try:
        assert deliveries_run() == 1
        assert back.types() == ["consent.changed"]
    finally:
        back.stop()


def test_a_wrong_signature_is_not_an_acknowledgement(receiver):
    receiver.secret = Endpoint._meta.get_field("secret").default()  # the receiver knows another key
    level(ContactFactory(), 2)

    assert deliveries_run() == 0

    assert receiver.rejected and not receiver.received
    assert Delivery.objects.get().last_status_code == 401


def test_a_redirect_is_not_followed(receiver):
    elsewhere = Receiver(receiver.secret)
    receiver.answer, receiver.location = 302, elsewhere.url
    try:
        level(ContactFactory(), 2)
        assert deliveries_run() == 0
        assert not elsewhere.posted  # and its 200 is no acknowledgement
        delivery = Delivery.objects.get()
        assert delivery.status == Delivery.Status.PENDING and delivery.last_status_code == 302
    finally:
        elsewhere.stop()


def test_a_delivery_claimed_by_a_worker_that_died_goes_out_once_its_lease_ends(receiver):
    level(ContactFactory(), 2)
    assert len(deliveries_claim(10)) == 1  # claimed, then the worker was killed before posting

    assert deliveries_run() == 0  # still leased to the dead worker
    time_passes()
    assert deliveries_run() == 1
    assert len(receiver.received) == 1


def test_erasure_is_announced_without_personal_data(receiver):
    contact = ContactFactory(email="Ada.Lovelace@Example.org", first_name="Ada", last_name="Lovelace")
    receiver.answer = 503
    level(contact, 3)  # waiting when the erasure comes: it goes with the person's rows

    contacts_erase(contacts=[contact], actor=None)
    receiver.answer = 204
    time_passes()
    deliveries_run()

    (event,) = receiver.received
    assert event["type"] == "contact.erased"
    assert event["data"]["contact"] == {"id": contact.pk}
    for trace in ("lovelace", "ada", "example.org"):
        assert trace not in event["raw"].lower()
    key = base64.b64decode(receiver.endpoint.secret.removeprefix("whsec_"))
    expected = hmac.new(key, b"ada.lovelace@example.org", hashlib.sha256).hexdigest()
    assert event["data"]["email_hmac"] == expected  # the receiver can find its copy, nobody else can
    assert not Event.objects.exclude(type=EventType.ERASED).exists()


def test_an_endpoint_failing_for_days_is_paused_officers_are_told_and_resume_sends_all(
    receiver, smtp_server, privacy_officer, settings, django_capture_on_commit_callbacks
):
    privacy_officer.email = "officer@example.org"
    privacy_officer.save()
    receiver.answer = 503
    level(ContactFactory(), 2)
    deliveries_run()
    Endpoint.objects.update(
        failing_since=timezone.now() - settings.WEBHOOK_PAUSE_AFTER - timedelta(minutes=1)
    )
    time_passes()

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_run()

    endpoint = Endpoint.objects.get()
    assert endpoint.paused_at is not None
    (alert,) = smtp_server.bodies("officer@example.org")
    assert "CRM" in alert and "1 event is waiting" in alert
    attempts = Attempt.objects.count()
    time_passes()
    deliveries_run()
    assert Attempt.objects.count() == attempts  # paused: nothing is posted

    receiver.answer = 204
    assert endpoint_resume(endpoint=endpoint) == 1
    assert deliveries_run() == 1
    assert receiver.types() == ["consent.changed"]


def test_only_active_endpoints_get_the_events_they_asked_for(receiver):
    Endpoint.objects.update(event_types=[EventType.ERASED])
    Endpoint.objects.create(name="Old shop", url=receiver.url, active=False)

    level(ContactFactory(), 2)

    assert not Delivery.objects.exists()


def test_without_a_downstream_system_nothing_is_written(db):
    level(ContactFactory(), 2)

    assert not Event.objects.exists()
