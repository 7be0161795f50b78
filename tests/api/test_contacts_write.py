"""Creating and correcting contacts through the API, as an integrator sees it: identity fields in
the body, the admin's services behind them (history, downstream events, access log), erased
identities refused, consent left to the consent action."""

import pytest

from contacts.models import Contact
from contacts.services import contact_update
from contacts.suppression import suppression_add
from staff.models import AccessLogEntry
from tests.factories import ContactFactory, with_consent
from webhooks.models import Endpoint, Event, EventType

pytestmark = pytest.mark.django_db

NEW = {"first_name": "Holly", "last_name": "Hansen", "email": " Holly@Contoso.COM ", "phone": "030 1234567"}


def test_a_new_contact_is_created_at_level_0_with_its_history(api_as, marketer):
    response = api_as(marketer).post(
        "/api/v1/contacts/", {**NEW, "country": "de", "language": "de"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    contact = Contact.objects.get(pk=body["id"])
    assert (contact.email, contact.country, contact.language) == ("holly@contoso.com", "DE", "de")
    assert body["email"] == "holly@contoso.com" and body["consent_given"] == 0
    assert contact.phone.startswith("+")
    created = contact.history.get()
    assert created.history_user == marketer and created.history_change_reason == "created through the API"
    assert AccessLogEntry.objects.filter(user=marketer, contacts__contact_id=contact.pk).exists()


def test_an_erased_persons_address_is_refused_and_nothing_is_saved(api_as, privacy_officer):
    suppression_add(email="holly@contoso.com", reason="DSR-1")
    response = api_as(privacy_officer).post("/api/v1/contacts/", NEW, content_type="application/json")
    assert response.status_code == 409
    assert "erased" in response.json()["detail"]
    assert not Contact.objects.exists()


def test_an_erased_persons_phone_number_is_refused_too(api_as, privacy_officer):
    suppression_add(phone="+49301234567", reason="DSR-1")
    body = {"first_name": "Holly", "phone": "+49 30 1234567"}
    response = api_as(privacy_officer).post("/api/v1/contacts/", body, content_type="application/json")
    assert response.status_code == 409 and not Contact.objects.exists()


def test_an_address_another_contact_has_is_refused(api_as, marketer):
    ContactFactory(email="holly@contoso.com")
    response = api_as(marketer).post("/api/v1/contacts/", NEW, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["detail"] == "Another contact has this email address already."
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({"first_name": "Nobody"}, "email"),  # neither an address nor a number
        ({"phone": "call me"}, "phone"),
    ],
)
def test_values_the_contact_refuses_are_a_409_naming_the_field(api_as, marketer, body, field):
    response = api_as(marketer).post("/api/v1/contacts/", body, content_type="application/json")
    assert response.status_code == 409, response.content
    assert field in response.json()["errors"] and response.json()["detail"]
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"email": 5},
        {"first_name": "x" * 151, "email": "a@example.org"},
        {"country": "DEU", "email": "a@example.org"},
        {"language": "fr", "email": "a@example.org"},
        {"email": "a@example.org", "consent_given": 5},
        {"email": "a@example.org", "tracking_allowed": True},
        [],
    ],
)
def test_malformed_bodies_and_consent_fields_are_a_400_and_nothing_is_saved(api_as, marketer, body):
    response = api_as(marketer).post("/api/v1/contacts/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert not Contact.objects.exists()


def test_consent_fields_point_to_the_consent_action(api_as, marketer):
    body = {"email": "a@example.org", "consent_given": 5}
    response = api_as(marketer).post("/api/v1/contacts/", body, content_type="application/json")
    assert "/consent/" in response.json()["consent_given"][0]


def test_a_correction_goes_through_the_admins_service_with_its_reason(api_as, marketer):
    contact = with_consent(ContactFactory(email="holly@contoso.com"), level=3)
    Endpoint.objects.create(name="CRM", url="https://crm.example.org/hooks")
    response = api_as(marketer).patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"email": "Holly.Hansen@contoso.com", "justification": "rectification asked in DSR-1"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["email"] == "holly.hansen@contoso.com"
    contact.refresh_from_db()
    assert contact.email == "holly.hansen@contoso.com" and contact.consent_given == 3
    latest = contact.history.latest("history_id")
    assert latest.history_user == marketer and latest.history_change_reason == "rectification asked in DSR-1"
    event = Event.objects.get(type=EventType.RECTIFIED)
    assert event.payload["data"]["changes"]["email"] == {
        "old": "holly@contoso.com",
        "new": "holly.hansen@contoso.com",
    }


def test_a_correction_without_a_reason_is_refused(api_as, marketer):
    contact = ContactFactory(email="holly@contoso.com")
    for body in ({"email": "new@contoso.com"}, {"email": "new@contoso.com", "justification": "   "}):
        response = api_as(marketer).patch(
            f"/api/v1/contacts/{contact.pk}/", body, content_type="application/json"
        )
        assert response.status_code == 400 and "justification" in response.json()
    contact.refresh_from_db()
    assert contact.email == "holly@contoso.com"


def test_a_correction_to_an_erased_persons_address_is_refused(api_as, privacy_officer):
    contact = ContactFactory(email="holly@contoso.com", first_name="Holly")
    suppression_add(email="gone@contoso.com", reason="DSR-1")
    response = api_as(privacy_officer).patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"email": "gone@contoso.com", "first_name": "Molly", "justification": "asked"},
        content_type="application/json",
    )
    assert response.status_code == 409
    contact.refresh_from_db()
    assert (contact.email, contact.first_name) == ("holly@contoso.com", "Holly")  # nothing half-applied


def test_a_correction_keeping_its_own_address_is_not_a_duplicate(api_as, marketer):
    contact = ContactFactory(email="holly@contoso.com")
    response = api_as(marketer).patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"email": "HOLLY@contoso.com", "last_name": "Hansen", "justification": "spelling"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["last_name"] == "Hansen"


def test_consent_is_not_written_by_a_correction(api_as, marketer):
    contact = with_consent(ContactFactory(), level=2)
    response = api_as(marketer).patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"consent_given": 5, "justification": "x"},
        content_type="application/json",
    )
    assert response.status_code == 400
    contact.refresh_from_db()
    assert contact.consent_given == 2


def test_a_marketer_cannot_correct_a_restricted_contact_they_cannot_see(api_as, marketer, privacy_officer):
    contact = ContactFactory(email="kept@contoso.com")
    contact_update(contact=contact, processing_restricted=True, reason="DSR restriction")
    body = {"first_name": "X", "justification": "asked"}
    url = f"/api/v1/contacts/{contact.pk}/"
    assert api_as(marketer).patch(url, body, content_type="application/json").status_code == 404
    assert api_as(privacy_officer).patch(url, body, content_type="application/json").status_code == 200


@pytest.mark.parametrize("persona", ["auditor", "outsider"])
def test_roles_without_the_admins_add_and_change_permissions_are_refused(request, api_as, persona):
    contact = ContactFactory(email="holly@contoso.com")
    client = api_as(request.getfixturevalue(persona))
    assert client.post("/api/v1/contacts/", NEW, content_type="application/json").status_code == 403
    patch = {"first_name": "X", "justification": "asked"}
    url = f"/api/v1/contacts/{contact.pk}/"
    assert client.patch(url, patch, content_type="application/json").status_code == 403
    assert Contact.objects.count() == 1 and Contact.objects.get().first_name != "X"
