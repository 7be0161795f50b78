"""Consent changes at the same moment, on separate database connections (real parallel transactions).

tests/test_concurrency.py shows that changes to ONE contact chain without a lost update; here:
two writers exactly as two staff members would race, and writers on DIFFERENT contacts, which
share only the audit chain's head.
"""

import pytest

from consent.audit_chain import verify
from consent.models import ConsentChange, PurposeConsent, Source
from consent.services import consent_change
from contacts.models import Contact
from tests.conftest import run_together
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_people_changing_one_contact_at_once_both_apply_in_turn(logging_on):
    contact = ContactFactory()
    run_together(
        lambda: consent_change(contact=contact, level=3, source=Source.IMPORT),
        lambda: consent_change(contact=contact, level=5, source=Source.API),
    )
    first, second = ConsentChange.objects.filter(contact=contact).order_by("id")
    assert first.old_value == "0" and second.old_value == first.new_value  # no lost update
    contact.refresh_from_db()
    assert str(contact.consent_given) == second.new_value


def test_first_answers_for_one_purpose_at_once_leave_one_answer_and_a_chained_trail(logging_on):
    news = PurposeFactory(slug="news")
    contact = ContactFactory()
    run_together(
        lambda: consent_change(contact=contact, purposes={news: True}, source=Source.IMPORT),
        lambda: consent_change(contact=contact, purposes={news: False}, source=Source.API),
    )
    first, second = ConsentChange.objects.filter(contact=contact).order_by("id")
    assert first.old_value == "" and second.old_value == first.new_value
    answer = PurposeConsent.objects.get(contact=contact, purpose=news)  # one row, not two
    assert str(answer.granted) == second.new_value


def test_changes_to_different_contacts_at_once_keep_the_audit_trail_verifiable(logging_on):
    contacts = [ContactFactory() for _ in range(6)]
    run_together(
        *(
            (lambda c=c, level=level: consent_change(contact=c, level=level, source=Source.IMPORT))
            for c in contacts
            for level in (2, 4)
        )
    )
    assert ConsentChange.objects.count() == 12
    result = verify()
    assert result.ok, result.problem
    assert result.checked == 12
    assert set(Contact.objects.values_list("consent_given", flat=True)) <= {2, 4}
