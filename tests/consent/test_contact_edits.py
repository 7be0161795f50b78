"""One edit of a contact's profile and consent together: the order of the two writes."""

import pytest
from django.core.exceptions import ValidationError

from consent.contact_edits import contact_save_with_consent
from consent.models import ConsentChange, Source
from contacts.models import Contact
from tests.factories import ContactFactory, with_consent


def save(contact, *, profile=None, consent=None, level_before=0, **kwargs):
    return contact_save_with_consent(
        contact=contact,
        profile=profile or {},
        consent=consent or {},
        level_before=level_before,
        reason=kwargs.pop("reason", "edited"),
        source=Source.ADMIN,
        justification=kwargs.pop("justification", "age checked"),
        **kwargs,
    )


@pytest.mark.django_db
def test_marking_a_profiled_contact_as_child_while_lowering_to_marketing_succeeds(logging_on):
    guardian = ContactFactory()
    contact = with_consent(ContactFactory(), level=5)
    saved = save(
        contact, profile={"is_child": True, "guardian": guardian}, consent={"level": 4}, level_before=5
    )
    assert (saved.is_child, saved.guardian, saved.consent_given) == (True, guardian, 4)
    record = ConsentChange.objects.get(contact=contact, source=Source.ADMIN)
    assert (record.old_value, record.new_value, record.justification) == ("5", "4", "age checked")


@pytest.mark.django_db
def test_a_child_no_longer_marked_as_one_can_be_raised_to_profiling_in_the_same_edit():
    guardian = ContactFactory()
    child = with_consent(ContactFactory(is_child=True, guardian=guardian), level=3)
    saved = save(child, profile={"is_child": False, "guardian": None}, consent={"level": 5}, level_before=3)
    assert (saved.is_child, saved.consent_given) == (False, 5)


@pytest.mark.django_db
def test_a_refused_raise_keeps_the_profile_change_out_too():
    guardian = ContactFactory()
    child = with_consent(ContactFactory(is_child=True, guardian=guardian, first_name="Ada"), level=3)
    with pytest.raises(ValidationError, match="Profiling"):
        save(child, profile={"first_name": "Grace"}, consent={"level": 5}, level_before=3)
    child.refresh_from_db()
    assert (child.first_name, child.consent_given) == ("Ada", 3)


@pytest.mark.django_db
def test_a_new_contact_gets_its_consent_with_one_record_and_the_reason_in_its_history(logging_on):
    saved = save(
        None,
        profile={"first_name": "Holly", "email": "holly@contoso.com"},
        consent={"level": 4, "tracking_allowed": True},
        reason="created in the admin",
        channel="phone",
    )
    contact = Contact.objects.get(email="holly@contoso.com")
    assert saved.pk == contact.pk
    assert (saved.consent_given, saved.tracking_allowed) == (4, True)
    assert contact.history.earliest().history_change_reason == "created in the admin"
    records = ConsentChange.objects.filter(contact=contact)
    assert sorted(records.values_list("field", flat=True)) == ["consent_given", "tracking_allowed"]
    assert set(records.values_list("channel", flat=True)) == {"phone"}
