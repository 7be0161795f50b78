"""Issue 19's done-when for events out: two downstream systems, one of them down for a while; a
person unsubscribes, is restricted and is erased; both systems get every event, verified, in
order, the erasure without personal data, and the erasure request closes only once both have
acknowledged."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from contacts.services import contact_update
from dsr.models import DataSubjectRequest
from dsr.services import dsr_complete, dsr_create, dsr_erase, dsr_verify
from subscriptions.models import Subscription, SubscriptionList
from subscriptions.services import subscription_set
from tests.factories import ContactFactory
from tests.webhooks.receiver import Receiver
from webhooks.delivery import deliveries_run
from webhooks.models import Delivery, Endpoint
from webhooks.tasks import deliver_due

pytestmark = pytest.mark.django_db


def register(client, name: str) -> Receiver:
    """An officer registers the system in the admin; its receiver learns the secret from the page."""
    receiver = Receiver()
    client.post(
        reverse("admin:webhooks_endpoint_add"),
        {
            "name": name,
            "url": receiver.url,
            "event_types": ["subscription.unsubscribed", "contact.restricted", "contact.erased"],
            "active": "on",
        },
    )
    receiver.secret = Endpoint.objects.get(name=name).secret
    return receiver


def catch_up() -> None:
    """Time passes: every waiting delivery is due again, and the worker runs."""
    Delivery.objects.filter(status=Delivery.Status.PENDING).update(next_attempt_at=timezone.now())
    deliveries_run()


def test_two_systems_get_every_event_in_order_and_the_erasure_waits_for_both(client_as, privacy_officer):
    officer = client_as(privacy_officer)
    crm, shop = register(officer, "CRM"), register(officer, "Shop")
    try:
        person = ContactFactory(email="lena@example.org", first_name="Lena", last_name="Lindqvist")
        news = SubscriptionList.objects.create(name="News", slug="news")
        subscription_set(contact=person, subscription_list=news, status="subscribed", source="import")
        shop.answer = 503  # the shop is down for a while

        subscription_set(
            contact=person, subscription_list=news, status=Subscription.Status.UNSUBSCRIBED, source="admin"
        )
        deliver_due()  # the task each commit starts
        contact_update(contact=person, actor=privacy_officer, processing_restricted=True)
        deliver_due()
        assert crm.types() == ["subscription.unsubscribed", "contact.restricted"] and shop.types() == []

        shop.answer = 204  # back: it catches up, in order
        catch_up()
        assert shop.types() == ["subscription.unsubscribed", "contact.restricted"]

        shop.answer = 503  # down again when the erasure comes
        request, _ = dsr_create(kind="erase", email="lena@example.org", channel="letter")
        dsr_verify(request=request, actor=privacy_officer, how="signed letter")
        dsr_erase(request=request, actor=privacy_officer)
        deliver_due()
        request.refresh_from_db()
        assert request.status == DataSubjectRequest.Status.IN_PROGRESS  # the shop has not acknowledged
        with pytest.raises(ValidationError, match="Shop"):
            dsr_complete(request=request, actor=privacy_officer)
        page = officer.get(reverse("admin:dsr_datasubjectrequest_change", args=[request.pk])).content.decode()
        assert "<td>Shop</td>" in page and "<strong>1</strong>" in page  # the waiting erasure, shown

        shop.answer = 204
        catch_up()
        for system in (crm, shop):
            assert system.types() == ["subscription.unsubscribed", "contact.restricted", "contact.erased"]
            assert not system.rejected  # every post verified with the system's own secret
            erased = system.received[-1]["raw"].lower()
            assert "lena" not in erased and "lindqvist" not in erased and "example.org" not in erased
        assert (
            dsr_complete(request=request, actor=privacy_officer).status == DataSubjectRequest.Status.COMPLETED
        )
    finally:
        crm.stop()
        shop.stop()


def test_events_still_waiting_when_the_person_is_erased_give_way_to_the_erasure(client_as, privacy_officer):
    shop = register(client_as(privacy_officer), "Shop")
    try:
        person = ContactFactory(email="max@example.org")
        shop.answer = 503
        contact_update(contact=person, actor=privacy_officer, processing_restricted=True)
        deliver_due()
        request, _ = dsr_create(kind="erase", email="max@example.org", channel="letter")
        dsr_verify(request=request, actor=privacy_officer, how="signed letter")
        dsr_erase(request=request, actor=privacy_officer)

        shop.answer = 204
        catch_up()

        # No personal data leaves after the erasure: what had not gone out goes with the person.
        assert shop.types() == ["contact.erased"]
    finally:
        shop.stop()
