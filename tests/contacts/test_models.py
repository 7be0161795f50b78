"""Contact rules: normalised identifiers, children and guardians, enforced by validation and by the database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from consent.models import Source
from consent.services import consent_change
from contacts.models import Contact
from contacts.services import contact_create, contact_update
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_email_is_stored_lower_case_and_found_whatever_the_case():
    contact = contact_create(email="  Holly@Contoso.COM ")
    assert contact.email == "holly@contoso.com"
    assert Contact.objects.get(email="HOLLY@contoso.com".lower()) == contact


def test_phone_is_stored_in_e164():
    assert contact_create(email="a@example.org", phone="030 1234 567").phone == "+49301234567"
    assert contact_create(email="b@example.org", phone="+44 20 7946 0958").phone == "+442079460958"


@pytest.mark.parametrize("field, value", [("email", "not-an-address"), ("phone", "12"), ("phone", "call me")])
def test_invalid_identifiers_are_refused_and_nothing_is_saved(field, value):
    with pytest.raises(ValidationError) as error:
        contact_create(**{"email": "ok@example.org", field: value})
    assert field in error.value.message_dict
    assert not Contact.objects.exists()


def test_a_contact_needs_an_email_or_a_phone():
    with pytest.raises(ValidationError, match="email address or a phone"):
        contact_create(first_name="Nobody")


def test_several_contacts_may_share_an_address():
    contact_create(email="family@example.org", first_name="A")
    contact_create(email="family@example.org", first_name="B")
    assert Contact.objects.filter(email="family@example.org").count() == 2


def test_a_child_needs_a_guardian():
    with pytest.raises(ValidationError) as error:
        contact_create(email="kid@example.org", is_child=True)
    assert "guardian" in error.value.message_dict


def test_a_guardian_cannot_be_a_child_or_the_contact_itself():
    parent = ContactFactory()
    child = ContactFactory(is_child=True, guardian=parent)
    with pytest.raises(ValidationError, match="cannot be a child"):
        contact_create(email="x@example.org", is_child=True, guardian=child)
    with pytest.raises(ValidationError, match="own guardian"):
        contact_update(contact=parent, guardian=parent)


def test_a_loop_of_guardians_is_refused():
    a = ContactFactory()
    b = ContactFactory(guardian=a)
    c = ContactFactory(guardian=b)
    with pytest.raises(ValidationError, match="loop"):
        contact_update(contact=a, guardian=c)
    a.refresh_from_db()
    assert a.guardian is None


def test_a_guardian_cannot_become_a_child():
    parent = ContactFactory()
    ContactFactory(is_child=True, guardian=parent)
    grandparent = ContactFactory()
    with pytest.raises(ValidationError, match="guardian of other contacts"):
        contact_update(contact=parent, is_child=True, guardian=grandparent)


def test_deleting_a_guardian_with_children_is_refused_and_deletes_nothing():
    parent = ContactFactory()
    ContactFactory(is_child=True, guardian=parent)
    with pytest.raises(ProtectedError):
        parent.delete()
    assert Contact.objects.count() == 2


def test_the_database_itself_refuses_a_profiled_child():
    parent = ContactFactory()
    child = ContactFactory(is_child=True, guardian=parent)
    consent_change(contact=child, level=4, source=Source.IMPORT)
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=child.pk).update(consent_given=5)
    child.refresh_from_db()
    assert child.consent_given == 4


def test_the_database_itself_refuses_a_child_without_guardian_and_an_own_guardian():
    contact = ContactFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(is_child=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(guardian=contact.pk)


def test_contact_services_refuse_consent_fields():
    contact = ContactFactory()
    with pytest.raises(ValidationError, match="consent service"):
        contact_update(contact=contact, consent_given=5)
    with pytest.raises(ValidationError, match="consent service"):
        contact_create(email="a@example.org", tracking_allowed=True)


def test_profile_changes_are_kept_in_history_with_who_and_why(privacy_officer):
    contact = ContactFactory(first_name="Ann")
    contact_update(contact=contact, first_name="Anna", actor=privacy_officer, reason="letter of 2 May")
    latest = contact.history.first()
    assert (latest.first_name, latest.history_user, latest.history_change_reason) == (
        "Anna",
        privacy_officer,
        "letter of 2 May",
    )
