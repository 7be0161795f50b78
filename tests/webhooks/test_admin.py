"""Officers register downstream systems and send events again from the admin."""

import pytest
from django.urls import reverse

from consent.models import Source
from consent.services import consent_change
from dsr.services import dsr_create, dsr_erase, dsr_verify
from tests.factories import ContactFactory
from webhooks.delivery import deliveries_run
from webhooks.models import Delivery, Endpoint, EventType

pytestmark = pytest.mark.django_db


def add(client, **fields):
    data = {
        "name": "Shop",
        "url": "https://shop.example.org/hooks",
        "event_types": [EventType.ERASED],
        "active": "on",
    }
    return client.post(reverse("admin:webhooks_endpoint_add"), {**data, **fields})


def test_an_officer_registers_a_system_with_a_generated_secret(client_as, privacy_officer):
    response = add(client_as(privacy_officer), event_types=[EventType.ERASED, EventType.UNSUBSCRIBED])

    assert response.status_code == 302
    endpoint = Endpoint.objects.get()
    assert endpoint.event_types == ["contact.erased", "subscription.unsubscribed"]
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40


@pytest.mark.parametrize(
    "fields",
    [
        {"url": "file:///etc/passwd"},
        {"url": "gopher://shop.example.org/"},
        {"event_types": []},
        {"event_types": ["x"]},
    ],
)
def test_a_bad_address_or_event_list_is_refused_and_nothing_saved(client_as, privacy_officer, fields):
    response = add(client_as(privacy_officer), **fields)

    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert not Endpoint.objects.exists()


def test_send_again_repeats_a_delivered_event_with_its_id(client_as, privacy_officer, receiver):
    consent_change(contact=ContactFactory(), level=2, source=Source.IMPORT)
    deliveries_run()
    delivery = Delivery.objects.get()

    response = client_as(privacy_officer).post(
        reverse("admin:webhooks_delivery_changelist"),
        {"action": "send_again", "_selected_action": [delivery.pk]},
    )
    deliveries_run()

    assert response.status_code == 302
    first, again = receiver.received
    assert first["id"] == again["id"] == delivery.event.uid  # the receiver can tell it is a repeat


def test_the_auditor_sees_deliveries_but_cannot_send_again_or_read_secrets(client_as, auditor, receiver):
    consent_change(contact=ContactFactory(), level=2, source=Source.IMPORT)
    client = client_as(auditor)

    listing = client.get(reverse("admin:webhooks_delivery_changelist"))
    endpoint = client.get(reverse("admin:webhooks_endpoint_change", args=[receiver.endpoint.pk]))

    assert listing.status_code == 200 and b"send_again" not in listing.content
    assert endpoint.status_code == 403


def test_the_contact_page_shows_which_system_acknowledged_its_events(client_as, privacy_officer, receiver):
    contact = ContactFactory()
    consent_change(contact=contact, level=2, source=Source.IMPORT)
    consent_change(contact=contact, level=3, source=Source.IMPORT)
    receiver.answer = 503
    deliveries_run()  # the first fails; the second waits behind it

    page = client_as(privacy_officer).get(reverse("admin:contacts_contact_change", args=[contact.pk]))

    panel = page.content.decode().split("Downstream systems:</label>")[1]
    assert "<td>CRM</td>" in panel and "<strong>2</strong>" in panel  # two events still waiting


def test_the_erasure_request_shows_each_system_s_acknowledgement(client_as, privacy_officer, receiver):
    contact = ContactFactory(email="gone@example.org")
    request, _ = dsr_create(kind="erase", email="gone@example.org", channel="letter")
    dsr_verify(request=request, actor=privacy_officer, how="signed letter")
    dsr_erase(request=request, actor=privacy_officer)
    deliveries_run()

    page = client_as(privacy_officer).get(reverse("admin:dsr_datasubjectrequest_change", args=[request.pk]))

    panel = page.content.decode().split("Downstream systems:</label>")[1]
    erasure = Delivery.objects.get(event__type=EventType.ERASED, event__subject=f"contact:{contact.pk}")
    assert erasure.status == Delivery.Status.DELIVERED
    assert "<td>CRM</td>" in panel and "<td>0</td>" in panel  # nothing waits: every event acknowledged
    assert f"contact%3A{contact.pk}" in panel  # the link to the erased person's deliveries


def test_the_auditor_sees_no_event_about_a_restricted_contact(client_as, auditor, privacy_officer, receiver):
    from contacts.services import contact_update

    hidden = ContactFactory(email="hidden@example.org")
    contact_update(contact=hidden, actor=privacy_officer, email="moved@example.org")  # its payload names both
    contact_update(contact=hidden, actor=privacy_officer, processing_restricted=True)
    consent_change(contact=ContactFactory(), level=2, source=Source.IMPORT)

    auditors = client_as(auditor).get(reverse("admin:webhooks_delivery_changelist")).content.decode()
    officers = client_as(privacy_officer).get(reverse("admin:webhooks_delivery_changelist")).content.decode()

    assert f"contact:{hidden.pk}<" not in auditors and f"contact:{hidden.pk}<" in officers
    assert "Consent level, purpose answer or tracking choice changed" in auditors  # the others stay
