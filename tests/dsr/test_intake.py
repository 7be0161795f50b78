"""The public request page: a request joins the queue only once its sender confirms the address."""

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from dsr.intake import submissions_purge
from dsr.models import DataSubjectRequest, RequestSubmission
from tests.factories import ContactFactory
from tests.pages import same_page

pytestmark = pytest.mark.django_db(transaction=True)  # mail leaves on commit, as in production
FORM = reverse("dsr:request")


def _submit(client, email="holly@contoso.com", kind="erase", **extra):
    return client.post(FORM, {"kind": kind, "email": email, "name": "Holly", "details": "forget me", **extra})


def _link(smtp, email="holly@contoso.com"):
    (link,) = [link for link in smtp.links(email) if "/requests/confirm/" in link]
    return urlparse(link).path


def test_a_confirmed_request_joins_the_queue_verified_with_its_reference_sent_back(client, smtp):
    holly = ContactFactory(email="holly@contoso.com")
    assert _submit(client).status_code == 200
    assert not DataSubjectRequest.objects.exists()  # not before the address is confirmed

    link = _link(smtp)
    page = client.get(link)
    assert page.status_code == 200 and "Yes, this is my request" in page.text
    assert not DataSubjectRequest.objects.exists()  # a mail scanner's GET confirms nothing

    done = client.post(link)
    request = DataSubjectRequest.objects.get()
    assert done.status_code == 200 and request.reference in done.text
    assert (request.kind, request.channel, request.status) == ("erase", "web", "verified")
    assert "confirmed the address" in request.verification and request.verified_at
    assert list(request.contacts.all()) == [holly]
    (ack,) = [b for b in smtp.bodies("holly@contoso.com") if request.reference in b]
    assert request.deadline.strftime("%Y") in ack

    again = client.post(link)
    assert again.status_code == 200 and request.reference in again.text
    assert DataSubjectRequest.objects.count() == 1  # the link works once


def test_the_page_answers_the_same_for_known_and_unknown_addresses(client, smtp):
    ContactFactory(email="holly@contoso.com")
    known = _submit(client, "holly@contoso.com")
    unknown = _submit(client, "stranger@contoso.com")
    assert same_page(known) == same_page(unknown)
    assert len(smtp.links("stranger@contoso.com")) == 1  # the stranger may still ask (we hold nothing)


def test_a_second_submission_joins_the_open_request(client, smtp):
    _submit(client)
    client.post(_link(smtp))
    smtp.messages.clear()
    _submit(client, details="please hurry")
    client.post(_link(smtp))
    request = DataSubjectRequest.objects.get()
    assert "please hurry" in request.notes


def test_expired_and_forged_links_open_nothing(client, smtp):
    _submit(client)
    link = _link(smtp)
    RequestSubmission.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.post(link).status_code == 410
    assert client.post(link[:-3] + "abc/").status_code == 400
    assert client.get("/requests/confirm/nonsense/").status_code == 400
    assert not DataSubjectRequest.objects.exists()
    assert submissions_purge() == 1 and not RequestSubmission.objects.exists()


def test_bad_input_is_explained_and_stores_nothing(client, smtp):
    response = _submit(client, email="not an address", kind="sell-my-data")
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "email" in errors and "kind" in errors
    assert not RequestSubmission.objects.exists() and smtp.messages == []


def test_the_form_is_rate_limited_per_client(client, smtp, settings):
    settings.RATE_LIMITS_ENABLED = True
    codes = [_submit(client, f"p{i}@contoso.com").status_code for i in range(6)]
    assert codes == [200] * 5 + [429]
    assert RequestSubmission.objects.count() == 5


def test_a_request_with_a_phone_number_only_joins_the_queue_for_a_call_back(client, smtp):
    caller = ContactFactory(email="", phone="+4930901820")
    known = client.post(FORM, {"kind": "erase", "email": "", "phone": "030 901820", "name": "Cal"})
    unknown = client.post(FORM, {"kind": "erase", "email": "", "phone": "030 901899", "name": "Cal"})
    assert known.status_code == 200 and "call you back" in known.text
    assert same_page(known) == same_page(unknown)  # nothing tells whether we know the number
    request = DataSubjectRequest.objects.get(requester_phone="+4930901820")
    assert (request.status, request.verified_at, request.channel) == (
        "new",
        None,
        "web",
    )  # an officer calls back
    assert list(request.contacts.all()) == [caller] and smtp.messages == []


def test_a_request_needs_an_address_or_a_callable_number_and_stores_nothing_otherwise(client, smtp):
    neither = client.post(FORM, {"kind": "erase", "email": "", "phone": ""})
    assert neither.status_code == 200 and "or a phone number" in neither.text
    bad = client.post(FORM, {"kind": "erase", "email": "", "phone": "12"})
    assert bad.status_code == 200 and "phone number we can call back" in bad.text
    assert not DataSubjectRequest.objects.exists() and not RequestSubmission.objects.exists()


def test_a_number_typed_next_to_a_confirmed_address_is_kept_but_opens_nobody_elses_data(client, smtp):
    ContactFactory(email="", phone="+4930901820")  # someone else's number, typed by Holly
    by_email = ContactFactory(email="holly@contoso.com")
    _submit(client, phone="030 901820")
    assert not DataSubjectRequest.objects.exists()
    client.post(_link(smtp))
    request = DataSubjectRequest.objects.get()
    assert request.requester_phone == "+4930901820"  # for the officer, who may link after a call back
    assert list(request.contacts.all()) == [by_email]  # the link proved the address, not the number
