"""Profile writes through contacts.services: refused whole with a message, or applied with history."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from consent.models import ConsentChange
from contacts.models import Contact
from contacts.services import contact_create, contact_update
from tests.factories import ContactFactory, with_consent

pytestmark = pytest.mark.django_db


def test_an_invalid_email_is_reported_once_on_the_email_field():
    with pytest.raises(ValidationError) as error:
        contact_create(email="holly@@contoso")
    assert error.value.message_dict == {"email": ["Enter a valid email address."]}
    assert not Contact.objects.exists()


def test_an_impossible_phone_number_is_named_in_the_message():
    with pytest.raises(ValidationError) as error:
        contact_create(email="a@example.org", phone="030 12")
    assert error.value.message_dict == {"phone": ["“030 12” is not a valid phone number."]}


def test_a_phone_written_three_ways_is_one_number():
    numbers = {
        contact_create(phone=written).phone
        for written in ("030 1234567", "+49 30 1234567", "0049 (30) 123-4567")
    }
    assert numbers == {"+49301234567"}


def test_a_failed_update_changes_nothing_and_writes_no_history():
    contact = ContactFactory(first_name="Ann", email="ann@example.org")
    versions = contact.history.count()
    with pytest.raises(ValidationError):
        contact_update(contact=contact, first_name="Anna", email="not-an-address")
    contact.refresh_from_db()
    assert (contact.first_name, contact.email) == ("Ann", "ann@example.org")
    assert contact.history.count() == versions


def test_an_update_normalises_the_new_email_and_phone():
    contact = ContactFactory()
    contact_update(contact=contact, email=" Ann@Example.ORG ", phone="+44 20 7946 0958")
    contact.refresh_from_db()
    assert (contact.email, contact.phone) == ("ann@example.org", "+442079460958")
    assert Contact.objects.filter(email="ANN@example.org".lower()).get() == contact


def test_two_contacts_cannot_be_each_others_guardian():
    a = ContactFactory()
    b = ContactFactory(guardian=a)
    with pytest.raises(ValidationError) as error:
        contact_update(contact=a, guardian=b)
    assert error.value.message_dict == {"guardian": ["This guardian would create a loop of guardians."]}
    a.refresh_from_db()
    assert a.guardian_id is None


def test_a_contact_at_profiling_cannot_be_marked_as_a_child_until_lowered():
    guardian = ContactFactory()
    contact = with_consent(ContactFactory(), level=5)
    with pytest.raises(ValidationError, match="Profiling"):
        contact_update(contact=contact, is_child=True, guardian=guardian)
    contact.refresh_from_db()
    assert (contact.is_child, contact.guardian_id, contact.consent_given) == (False, None, 5)

    with_consent(contact, level=4)
    contact_update(contact=contact, is_child=True, guardian=guardian)
    contact.refresh_from_db()
    assert contact.is_child and contact.guardian == guardian


def test_a_childs_guardian_cannot_be_removed():
    child = ContactFactory(is_child=True, guardian=ContactFactory())
    with pytest.raises(ValidationError, match="needs a guardian"):
        contact_update(contact=child, guardian=None)


def test_consent_fields_are_refused_and_nothing_is_saved(logging_on):
    contact = ContactFactory(first_name="Ann")
    with pytest.raises(ValidationError, match="consent service"):
        contact_update(contact=contact, first_name="Anna", consent_given=3)
    with pytest.raises(ValidationError, match="consent service"):
        contact_update(contact=contact, tracking_allowed=True)
    contact.refresh_from_db()
    assert (contact.first_name, contact.consent_given, contact.tracking_allowed) == ("Ann", 0, False)
    assert not ConsentChange.objects.exists()


def test_unknown_fields_are_refused_by_name():
    with pytest.raises(ValidationError, match="Unknown contact fields: nickname"):
        contact_create(email="a@example.org", nickname="Al")


def test_an_update_that_changes_nothing_writes_no_history():
    contact = ContactFactory(first_name="Ann")
    versions = contact.history.count()
    contact_update(contact=contact, first_name="Ann")
    assert contact.history.count() == versions


def test_the_database_refuses_a_level_outside_the_hierarchy():
    contact = ContactFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(consent_given=6)
    contact.refresh_from_db()
    assert contact.consent_given == 0


def test_a_country_is_stored_as_its_two_letter_code_and_anything_else_is_refused():
    contact = contact_create(email="de@example.org", country=" de ")
    assert contact.country == "DE"
    with pytest.raises(ValidationError) as refused:
        contact_create(email="x@example.org", country="Germany")
    assert "country" in refused.value.message_dict
