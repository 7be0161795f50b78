"""Data subject requests moved along through the API, as an integrator sees them: the admin's
decisions, through the same services, with the same history and receipts; a refusal of the
service is a 409 with its message, a malformed body a 400, and nothing changes."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from dsr.clocks import add_months, working_day_from
from dsr.jurisdictions import law_of
from dsr.models import DataSubjectRequest, ErasureRecord, ExportBundle
from dsr.services import dsr_create, dsr_verify
from tests.factories import ContactFactory
from webhooks.delivery import deliveries_run

Status = DataSubjectRequest.Status


def post(api, request, action, body=None):
    return api.post(
        f"/api/v1/requests/{request.reference}/{action}/", body or {}, content_type="application/json"
    )


def opened(kind="access", email="holly@contoso.com"):
    ContactFactory(email=email)
    return dsr_create(kind=kind, email=email, channel="letter")[0]


def reasons(request):
    """The request's history as the admin's history page lists it: status and reason, oldest first."""
    return [
        (h.status, h.history_change_reason, h.history_user_id)
        for h in request.history.order_by("history_date", "history_id")
    ]


@pytest.mark.django_db
def test_verified_then_completed_through_the_api_the_history_is_the_admins(
    privacy_officer, api_as, client_as
):
    by_api = opened(email="holly@contoso.com")
    by_admin = opened(email="jo@example.org")
    api = api_as(privacy_officer)

    verified = post(
        api, by_api, "verify", {"how": "replied from the address on file", "expected_status": "new"}
    )
    assert verified.status_code == 200, verified.content
    assert verified.json()["status"] == "verified" and verified.json()["verified_at"]
    completed = post(api, by_api, "complete", {"expected_status": "verified"})
    assert completed.status_code == 200, completed.content
    assert completed.json()["status"] == "completed" and completed.json()["closed_at"]

    decide = reverse("admin:dsr_datasubjectrequest_decide", args=[by_admin.pk])
    admin = client_as(privacy_officer)
    admin.post(
        decide, {"action": "verify", "expected_status": "new", "how": "replied from the address on file"}
    )
    admin.post(decide, {"action": "complete", "expected_status": "verified"})

    by_api.refresh_from_db()
    by_admin.refresh_from_db()
    assert reasons(by_api) == reasons(by_admin)
    assert [r[:2] for r in reasons(by_api)][-2:] == [
        ("verified", "identity verified"),
        ("completed", "completed"),
    ]
    assert by_api.verification == by_admin.verification
    # The integrator reads the same request back.
    assert api.get(f"/api/v1/requests/{by_api.reference}/").json() == completed.json()


@pytest.mark.django_db
def test_complete_is_refused_while_a_downstream_system_has_not_acknowledged(
    receiver, privacy_officer, api_as
):
    request = opened("restrict")
    api = api_as(privacy_officer)
    assert post(api, request, "verify", {"how": "signed letter"}).status_code == 200

    restricted = post(api, request, "restrict", {"expected_status": "verified"})
    # Restricted, but open until the system confirms (GDPR Art. 19).
    assert restricted.status_code == 200 and restricted.json()["status"] == "in_progress"
    assert Contact.objects.get(email="holly@contoso.com").processing_restricted
    waiting = api.get(f"/api/v1/requests/{request.reference}/downstream/").json()
    assert waiting == {"waiting": [{"endpoint": receiver.endpoint.pk, "name": "CRM"}]}

    refused = post(api, request, "complete")
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("Waiting for CRM to acknowledge.")
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS and request.closed_at is None

    deliveries_run()  # the system receives the event and answers 2xx: an acknowledgement
    assert api.get(f"/api/v1/requests/{request.reference}/downstream/").json() == {"waiting": []}
    assert post(api, request, "complete").json()["status"] == "completed"


@pytest.mark.django_db
def test_an_officer_waives_a_system_that_holds_no_copy_and_completes(receiver, privacy_officer, api_as):
    receiver.answer = 503  # the system is down
    request = opened("restrict")
    api = api_as(privacy_officer)
    post(api, request, "verify", {"how": "signed letter"})
    post(api, request, "restrict")
    deliveries_run()
    assert post(api, request, "complete").status_code == 409

    missing = post(api, request, "waive", {"endpoint": receiver.endpoint.pk, "reason": " "})
    assert missing.status_code == 409 and "Say why" in missing.json()["detail"]
    waived = post(api, request, "waive", {"endpoint": receiver.endpoint.pk, "reason": "switched off"})
    assert waived.status_code == 200
    assert request.downstream_waivers.get().reason == "switched off"
    assert post(api, request, "complete").json()["status"] == "completed"


@pytest.mark.django_db(transaction=True)  # the receipt leaves on commit
def test_an_erasure_through_the_api_erases_and_sends_the_admins_receipt(
    privacy_officer, api_as, smtp, keep_connection
):
    request = opened("erase")
    api = api_as(privacy_officer)
    post(api, request, "verify", {"how": "signed letter"})

    unconfirmed = post(api, request, "erase", {})
    assert unconfirmed.status_code == 400 and "expected_status" in unconfirmed.json()
    assert Contact.objects.filter(email="holly@contoso.com").exists()

    erased = post(api, request, "erase", {"expected_status": "verified"})
    assert erased.status_code == 200, erased.content
    body = erased.json()
    assert body["status"] == "completed" and body["requester_email"] == "" and body["contacts"] == []
    assert not Contact.objects.filter(email="holly@contoso.com").exists()
    record = ErasureRecord.objects.get(request=request)
    assert record.contacts_erased == 1
    (mail,) = smtp.bodies("holly@contoso.com")
    assert request.reference in mail and "Contact: 1" in mail


@pytest.mark.django_db
def test_an_export_bundle_is_queued_and_its_status_read(privacy_officer, auditor, api_as):
    request = opened("access")
    api = api_as(privacy_officer)
    unverified = api.post(f"/api/v1/requests/{request.reference}/bundles/")
    assert unverified.status_code == 409
    assert (
        unverified.json()["detail"] == "Export bundles are built for open requests with a verified requester."
    )
    assert not ExportBundle.objects.exists()

    dsr_verify(request=request, actor=privacy_officer, how="signed letter")
    queued = api.post(f"/api/v1/requests/{request.reference}/bundles/")
    assert queued.status_code == 201
    assert (queued.json()["status"], queued.json()["created_by"]) == ("queued", privacy_officer.username)
    listed = api_as(auditor).get(f"/api/v1/requests/{request.reference}/bundles/").json()
    assert [b["id"] for b in listed["results"]] == [queued.json()["id"]]
    assert api_as(auditor).post(f"/api/v1/requests/{request.reference}/bundles/").status_code == 403


@pytest.mark.django_db
def test_extend_assign_and_decline_as_in_the_admin(privacy_officer, api_as, roles):
    from tests.conftest import _persona

    colleague = _persona("olivia", "Privacy officer")
    request = opened("access")
    api = api_as(privacy_officer)
    post(api, request, "verify", {"how": "signed letter"})

    until = request.due_at + dt.timedelta(days=30)
    extended = post(api, request, "extend", {"until": until.isoformat(), "reason": "three archives"})
    assert extended.status_code == 200
    assert extended.json()["status"] == "extended" and extended.json()["extension_reason"] == "three archives"
    request.refresh_from_db()
    assert request.extended_until == until

    assert post(api, request, "assign").json()["assignee"] == privacy_officer.username
    assert post(api, request, "assign", {"assignee": "olivia"}).json()["assignee"] == colleague.username

    declined = post(api, request, "decline", {"reason": "manifestly unfounded"})
    assert (
        declined.json()["status"] == "declined"
        and declined.json()["decline_reason"] == "manifestly unfounded"
    )
    closed = post(api, request, "assign")
    assert closed.status_code == 409 and closed.json()["detail"] == f"{request.reference} is closed."


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "body", "status", "message"),
    [
        # Refused by the service (well-formed, but the request on file says no): 409, its message.
        ("complete", {}, 409, "A request is completed only for a verified requester."),
        ("start", {}, 409, "Verify the requester's identity before working on the request."),
        ("erase", {"expected_status": "new"}, 409, "Only an erasure request erases data."),
        ("restrict", {}, 409, "Only a restriction request restricts processing."),
        ("verify", {"how": "x", "expected_status": "verified"}, 409, "changed meanwhile"),
        ("verify", {"how": "   "}, 409, "Say how the identity was verified."),
        ("decline", {"reason": " "}, 409, "Declining needs a reason (Art. 12(4))."),
        # Malformed: 400, per field.
        ("verify", {}, 400, "how"),
        ("verify", {"how": 5}, 400, "how"),
        ("verify", {"how": "x", "expected_status": "maybe"}, 400, "expected_status"),
        ("extend", {"until": "soon", "reason": "x"}, 400, "until"),
        ("extend", {"until": 1, "reason": "x"}, 400, "until"),
        ("decline", {}, 400, "reason"),
        ("assign", {"assignee": "nobody-here"}, 409, "No active member of staff by that name"),
        ("waive", {"endpoint": 999, "reason": "x"}, 409, "No downstream system has this id."),
        (
            "extend",
            {"until": "0001-01-01T00:00:00+05:00", "reason": "x"},
            409,
            "an extension ends after the due date",
        ),
        (
            "extend",
            {"until": "9999-12-31T23:59:59-05:00", "reason": "x"},
            409,
            "an extension ends after the due date",
        ),
        ("waive", {"endpoint": "CRM", "reason": "x"}, 400, "endpoint"),
    ],
)
def test_refusals_and_bad_input_change_nothing(privacy_officer, api_as, action, body, status, message):
    request = opened("access")
    before = reasons(request)
    response = post(api_as(privacy_officer), request, action, body)
    assert response.status_code == status, response.content
    assert message in (response.json()["detail"] if status == 409 else response.json())
    assert reasons(request) == before


@pytest.mark.django_db
def test_an_extension_beyond_two_months_is_refused_with_the_services_message(privacy_officer, api_as):
    request = opened("access")
    api = api_as(privacy_officer)
    post(api, request, "verify", {"how": "signed letter"})
    too_far = (request.due_at + dt.timedelta(days=90)).isoformat()
    response = post(api, request, "extend", {"until": too_far, "reason": "busy"})
    assert response.status_code == 409
    due = timezone.localdate(request.due_at)
    # GDPR Art. 12(3): two further months, ending on a working day (Regulation 1182/71 Art. 3(4)).
    latest = working_day_from(add_months(due, 2), law_of("gdpr"))
    assert response.json()["errors"] == {
        "extended_until": [
            f"Under GDPR (European Union and EEA) an extension ends after the due date ({due}) and by {latest}."
        ]
    }


@pytest.mark.django_db
def test_a_marketer_may_not_assign_and_cannot_be_assigned(privacy_officer, marketer, api_as):
    request = opened("access")
    assert post(api_as(marketer), request, "verify", {"how": "x"}).status_code == 403
    response = post(api_as(privacy_officer), request, "assign", {"assignee": marketer.username})
    assert response.status_code == 409
    request.refresh_from_db()
    assert request.assignee is None


@pytest.fixture
def receiver(db):
    """A real downstream system on loopback, registered as an endpoint (tests.webhooks.receiver)."""
    from tests.webhooks.receiver import Receiver
    from webhooks.models import Endpoint

    endpoint = Endpoint.objects.create(name="CRM", url="http://placeholder.invalid/")
    running = Receiver(endpoint.secret)
    endpoint.url = running.url
    endpoint.save()
    running.endpoint = endpoint
    yield running
    running.stop()
