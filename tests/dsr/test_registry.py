"""The personal-data registry and the check that no model reaching Contact escapes it."""

import pytest
from django.db import models
from django.test.utils import isolate_apps

from consent.models import ConsentChange, PurposeConsent
from consent.services import consent_change
from contacts.models import Contact
from core import registry
from core.checks import check_personal_data_registered
from subscriptions.models import AccessToken, ConsentRequest, Subscription
from tests.factories import ContactFactory


def test_every_model_holding_contact_data_is_registered():
    for model in (Contact, PurposeConsent, ConsentChange, Subscription, AccessToken, ConsentRequest):
        assert registry.entry_for(model) is not None, model
    assert check_personal_data_registered() == []


@isolate_apps("dsr")
def test_a_model_pointing_at_contact_without_registration_fails_the_check():
    class LoyaltyCard(models.Model):
        contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "dsr"

        def __str__(self):
            return "card"

    errors = check_personal_data_registered(models=[LoyaltyCard])
    assert [e.id for e in errors] == ["dsr.E001"]

    registry.register(LoyaltyCard, fields=["number"], contact_path="contact", erasure=registry.Erasure.DELETE)
    try:
        errors = check_personal_data_registered(models=[LoyaltyCard])
        assert [e.id for e in errors] == ["dsr.E002"]  # "number" is not a field of it
    finally:
        registry._registry.pop(LoyaltyCard)


def test_keeping_rows_needs_the_reason_for_the_legal_hold():
    with pytest.raises(ValueError, match="legal hold"):
        registry.register(Contact, fields=["email"], contact_path="", erasure=registry.Erasure.KEEP)


@pytest.mark.django_db
def test_rows_for_finds_one_contacts_rows(logging_on):
    holly, other = ContactFactory(), ContactFactory()
    consent_change(contact=holly, level=2, source="import")
    consent_change(contact=other, level=3, source="import")
    entry = registry.entry_for(ConsentChange)
    assert [r.contact_id for r in entry.rows_for(holly)] == [holly.pk]
    assert list(registry.entry_for(Contact).rows_for(holly)) == [holly]


@isolate_apps("dsr")
def test_a_many_to_many_link_to_contact_without_registration_fails_the_check():
    class Household(models.Model):
        members = models.ManyToManyField(Contact, related_name="+")

        class Meta:
            app_label = "dsr"

        def __str__(self):
            return "household"

    assert [e.id for e in check_personal_data_registered(models=[Household])] == ["dsr.E001"]


@isolate_apps("dsr")
def test_a_link_to_a_proxy_of_contact_counts_as_a_link_to_contact():
    class Customer(Contact):
        class Meta:
            proxy = True
            app_label = "dsr"

    class Voucher(models.Model):
        holder = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "dsr"

        def __str__(self):
            return "voucher"

    assert [e.id for e in check_personal_data_registered(models=[Voucher])] == ["dsr.E001"]
    # The proxy shares Contact's table and registration: it is not reported itself.
    assert check_personal_data_registered(models=[Customer]) == []


@pytest.mark.django_db
def test_rows_for_follows_a_many_to_many_path():
    from dsr.models import DataSubjectRequest
    from dsr.services import dsr_create

    holly = ContactFactory(email="holly@example.org")
    ContactFactory(email="other@example.org")
    request, _ = dsr_create(kind="access", email="holly@example.org", channel="web")
    dsr_create(kind="access", email="other@example.org", channel="web")
    assert list(registry.entry_for(DataSubjectRequest).rows_for(holly)) == [request]
