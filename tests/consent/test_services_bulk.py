"""contacts_create_with_consent: the set-based twin of contact_create + consent_change."""

import pytest
from django.core.exceptions import ValidationError

from consent.models import ConsentChange, PurposeConsent, Source
from consent.services import contacts_create_with_consent
from contacts.models import Contact
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db


def test_bulk_creation_writes_contacts_answers_history_and_one_record_per_value(logging_on):
    PurposeFactory(slug="newsletter")
    rows = [
        {
            "email": "A@Example.org",
            "consent_given": 4,
            "tracking_allowed": True,
            "purposes": {"newsletter": True},
        },
        {"email": "b@example.org", "consent_given": 0},
        {"email": "c@example.org", "consent_given": 2, "purposes": {"newsletter": False}},
    ]
    assert contacts_create_with_consent(rows=rows, source=Source.IMPORT, batch_size=2) == 3

    a = Contact.objects.get(email="a@example.org")  # normalised like the one-by-one path
    assert (a.consent_given, a.tracking_allowed) == (4, True)
    assert a.history.count() == 1
    assert PurposeConsent.objects.get(contact=a).granted is True
    assert PurposeConsent.history.filter(contact_id=a.pk).count() == 1
    fields = sorted(ConsentChange.objects.filter(contact=a).values_list("field", "old_value", "new_value"))
    assert fields == [
        ("consent_given", "0", "4"),
        ("purpose", "", "True"),
        ("tracking_allowed", "False", "True"),
    ]
    assert not ConsentChange.objects.filter(contact__email="b@example.org").exists()  # nothing changed
    assert ConsentChange.objects.count() == 5


def test_bulk_creation_writes_no_records_when_logging_is_off(db):
    contacts_create_with_consent(rows=[{"email": "a@example.org", "consent_given": 3}], source=Source.IMPORT)
    assert Contact.objects.get().consent_given == 3
    assert not ConsentChange.objects.exists()


@pytest.mark.parametrize(
    "bad_row, message",
    [
        ({"email": "not-an-address"}, "email"),
        (
            {"email": "kid@example.org", "is_child": True, "consent_given": 5, "guardian_id": "GUARDIAN"},
            "Profiling",
        ),
        ({"email": "x@example.org", "purposes": {"unknown": True}}, "Unknown purpose"),
    ],
)
def test_one_invalid_row_creates_nothing_and_names_the_row(logging_on, bad_row, message):
    guardian = ContactFactory()
    bad_row = {k: (guardian.pk if v == "GUARDIAN" else v) for k, v in bad_row.items()}
    rows = [{"email": f"ok{i}@example.org", "consent_given": 2} for i in range(3)] + [bad_row]
    with pytest.raises(ValidationError) as error:
        contacts_create_with_consent(rows=rows, source=Source.IMPORT, batch_size=2)
    assert "Row 4" in str(error.value) and message in str(error.value)
    assert Contact.objects.count() == 1  # only the guardian
    assert not ConsentChange.objects.exists()


def test_bulk_raise_from_the_subscription_center_is_refused(logging_on):
    with pytest.raises(ValidationError, match="double opt-in"):
        contacts_create_with_consent(
            rows=[{"email": "a@example.org", "consent_given": 3}], source=Source.SUBSCRIPTION_CENTER
        )
    assert not Contact.objects.exists()
