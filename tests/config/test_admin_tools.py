"""The admin's shared steps: adopting what a service saved, and an object or a refusal."""

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from contacts.models import Contact
from staff.admin_tools import adopt_saved, object_or_403
from tests.factories import ContactFactory


def request_as(user, method="get"):
    request = getattr(RequestFactory(), method)("/admin/")
    request.user = user
    return request


@pytest.mark.django_db
def test_the_admin_instance_takes_the_saved_rows_key_and_columns():
    saved = ContactFactory(first_name="Holly", email=" Holly@Contoso.com ")
    unsaved = Contact(first_name="Holly", email=" Holly@Contoso.com ")
    assert adopt_saved(unsaved, saved) is unsaved
    assert (unsaved.pk, unsaved._state.adding, unsaved.email) == (saved.pk, False, "holly@contoso.com")


@pytest.mark.django_db
def test_adopting_with_refresh_reads_the_row_again():
    saved = ContactFactory(first_name="Holly")
    Contact.objects.filter(pk=saved.pk).update(first_name="Grace")  # a later write saved did not see
    unsaved = Contact(first_name="Holly")
    adopt_saved(unsaved, saved, refresh=True)
    assert (unsaved.pk, unsaved._state.adding, unsaved.first_name) == (saved.pk, False, "Grace")


@pytest.mark.django_db
def test_object_or_403_gives_the_object_the_user_may_see(privacy_officer):
    contact = ContactFactory()
    model_admin = admin.site._registry[Contact]
    found = object_or_403(model_admin, request_as(privacy_officer), str(contact.pk), permission="change")
    assert found == contact


@pytest.mark.django_db
def test_object_or_403_refuses_a_missing_hidden_or_forbidden_object_and_a_get_when_post_only(
    privacy_officer, marketer, auditor
):
    model_admin = admin.site._registry[Contact]
    restricted = ContactFactory(processing_restricted=True)
    contact = ContactFactory()
    refusals = [
        (request_as(privacy_officer), "999999", {}),  # no such contact
        (request_as(marketer), str(restricted.pk), {}),  # restricted: hidden from a Marketer
        (request_as(auditor), str(contact.pk), {"permission": "change"}),  # reads, may not change
        (request_as(privacy_officer), str(contact.pk), {"post_only": True}),
        (request_as(privacy_officer), str(contact.pk), {"permission": lambda request, obj: False}),
    ]
    for request, object_id, options in refusals:
        with pytest.raises(PermissionDenied):
            object_or_403(model_admin, request, object_id, **options)
    assert object_or_403(model_admin, request_as(privacy_officer, "post"), str(contact.pk), post_only=True)
