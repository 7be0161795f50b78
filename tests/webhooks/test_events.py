"""What downstream systems learn of restrictions, rectifications and requests (GDPR Art. 19)."""

import pytest
from django.core.exceptions import ValidationError

from contacts.services import contact_update
from dsr.services import dsr_create, dsr_restrict, dsr_verify
from tests.factories import ContactFactory
from webhooks.delivery import deliveries_run

pytestmark = pytest.mark.django_db


def test_a_restriction_request_is_announced_and_so_is_its_lifting(receiver, privacy_officer):
    contact = ContactFactory(email="kim@example.org")
    request, _ = dsr_create(kind="restrict", email="kim@example.org", channel="letter")
    dsr_verify(request=request, actor=privacy_officer, how="signed letter")
    dsr_restrict(request=request, actor=privacy_officer)
    contact_update(contact=contact, actor=privacy_officer, processing_restricted=False)

    deliveries_run()

    person = [e["type"] for e in receiver.received if e["type"].startswith("contact.")]
    assert person == ["contact.restricted", "contact.restriction_lifted"]
    statuses = [
        e["data"]["request"]["status"] for e in receiver.received if e["type"] == "request.status_changed"
    ]
    assert statuses == ["new", "verified", "in_progress"]  # open until the system acknowledges
    assert all(e["data"]["contacts"] == [contact.pk] for e in receiver.received if "contacts" in e["data"])
    assert "kim@" not in "".join(e["raw"] for e in receiver.received if e["type"].startswith("request."))


def test_a_rectification_names_the_old_and_new_values(receiver, privacy_officer):
    contact = ContactFactory(email="old@example.org", last_name="Smith")

    contact_update(contact=contact, actor=privacy_officer, email="New@Example.org", last_name="Smyth")
    deliveries_run()

    (event,) = receiver.received
    assert event["type"] == "contact.rectified"
    assert event["data"]["changes"] == {
        "email": {"old": "old@example.org", "new": "new@example.org"},  # as stored: normalised
        "last_name": {"old": "Smith", "new": "Smyth"},
    }


def test_a_refused_edit_announces_nothing(receiver, privacy_officer):
    contact = ContactFactory()

    with pytest.raises(ValidationError):
        contact_update(contact=contact, actor=privacy_officer, email="not an address")
    deliveries_run()

    assert receiver.received == []
