"""An erasure or restriction request closes only when every downstream system acknowledged it, or
an officer waived one with a reason (GDPR Art. 17(2), 19)."""

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from dsr.models import DataSubjectRequest
from dsr.services import dsr_complete, dsr_create, dsr_erase, dsr_restrict, dsr_verify
from reports.compliance_report import compliance_report_data
from tests.factories import ContactFactory
from webhooks.delivery import deliveries_run
from webhooks.models import Delivery, Endpoint, EventType

pytestmark = pytest.mark.django_db
Status = DataSubjectRequest.Status


def verified(kind, officer, email="person@example.org"):
    ContactFactory(email=email)
    request, _ = dsr_create(kind=kind, email=email, channel="letter")
    return dsr_verify(request=request, actor=officer, how="signed letter")


def callback(client, endpoint, payload, *, secret=None):
    body = json.dumps(payload)
    now = timezone.now()
    signature = Webhook(secret or endpoint.secret).sign(msg_id="ack_1", timestamp=now, data=body)
    headers = {
        "webhook-id": "ack_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return client.post(
        reverse("webhooks-confirm", args=[endpoint.pk]),
        body,
        content_type="application/json",
        headers=headers,
    )


def test_an_erasure_stays_open_until_the_system_acknowledges(receiver, privacy_officer):
    request = verified("erase", privacy_officer)

    dsr_erase(request=request, actor=privacy_officer)

    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    with pytest.raises(ValidationError, match="CRM"):
        dsr_complete(request=request, actor=privacy_officer)
    deliveries_run()
    assert dsr_complete(request=request, actor=privacy_officer).status == Status.COMPLETED


def test_a_restriction_waits_for_its_acknowledgement_too(receiver, privacy_officer):
    request = verified("restrict", privacy_officer)
    receiver.answer = 503

    dsr_restrict(request=request, actor=privacy_officer)
    deliveries_run()

    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    with pytest.raises(ValidationError, match="CRM"):
        dsr_complete(request=request, actor=privacy_officer)


def test_a_confirming_system_acknowledges_by_signed_callback_only(receiver, privacy_officer, client):
    Endpoint.objects.update(confirms=True)
    endpoint = Endpoint.objects.get()
    request = verified("erase", privacy_officer)
    dsr_erase(request=request, actor=privacy_officer)
    deliveries_run()
    erased = Delivery.objects.get(event__type=EventType.ERASED)

    with pytest.raises(ValidationError):  # a 2xx is not enough from this system
        dsr_complete(request=request, actor=privacy_officer)
    forged = callback(
        client,
        endpoint,
        {"event": erased.event.uid, "outcome": "deleted"},
        secret=Endpoint._meta.get_field("secret").default(),
    )
    unknown = callback(client, endpoint, {"event": "evt_" + "0" * 32, "outcome": "deleted"})
    vague = callback(client, endpoint, {"event": erased.event.uid, "outcome": "probably"})
    assert (forged.status_code, unknown.status_code, vague.status_code) == (401, 404, 400)
    assert Delivery.objects.get(pk=erased.pk).confirmed_at is None

    assert callback(client, endpoint, {"event": erased.event.uid, "outcome": "deleted"}).status_code == 204
    assert Delivery.objects.get(pk=erased.pk).confirmation == "deleted"
    assert dsr_complete(request=request, actor=privacy_officer).status == Status.COMPLETED


def test_an_officer_waives_a_dead_system_with_a_reason_that_the_report_shows(
    receiver, privacy_officer, client_as
):
    receiver.answer = 503
    request = verified("erase", privacy_officer)
    dsr_erase(request=request, actor=privacy_officer)
    deliveries_run()
    client = client_as(privacy_officer)
    decide = reverse("admin:dsr_datasubjectrequest_decide", args=[request.pk])
    endpoint = Endpoint.objects.get()

    page = client.get(reverse("admin:dsr_datasubjectrequest_change", args=[request.pk]))
    assert b"Waive this system" in page.content
    client.post(
        decide, {"action": "waive", "expected_status": "in_progress", "endpoint": endpoint.pk, "reason": " "}
    )
    client.post(decide, {"action": "complete", "expected_status": "in_progress"})
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS  # no reason, no waiver

    client.post(
        decide,
        {
            "action": "waive",
            "expected_status": "in_progress",
            "endpoint": endpoint.pk,
            "reason": "CRM retired; its data deleted by hand",
        },
    )
    client.post(decide, {"action": "complete", "expected_status": "in_progress"})

    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    today = timezone.localdate()
    _summary, tables = compliance_report_data(start=today - dt.timedelta(days=1), end=today)
    (waivers,) = [rows for title, _header, rows in tables if title == "Waived acknowledgements"]
    assert [row[1:4] for row in waivers] == [
        [request.reference, "CRM", "CRM retired; its data deleted by hand"]
    ]


def test_a_callback_naming_no_event_of_ours_is_refused_without_an_error(receiver, client):
    Endpoint.objects.update(confirms=True)
    endpoint = Endpoint.objects.get()

    for event in ("evt_\x00", "x" * 5000, 12, None, [[[[[[]]]]]]):
        assert callback(client, endpoint, {"event": event, "outcome": "deleted"}).status_code in (400, 413)


def test_a_signed_body_that_is_no_readable_json_is_refused_without_an_error(receiver, client):
    Endpoint.objects.update(confirms=True)
    endpoint = Endpoint.objects.get()

    for body in ("[" * 2000 + "]" * 2000, "not json"):
        now = timezone.now()
        signature = Webhook(endpoint.secret).sign(msg_id="ack_2", timestamp=now, data=body)
        headers = {
            "webhook-id": "ack_2",
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
        response = client.post(
            reverse("webhooks-confirm", args=[endpoint.pk]),
            body,
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 400
