"""Several people (or one impatient person) at once, creating what does not exist yet: exactly one
request per address and type, exactly one contact per signed-up address.

Threads get their own database connections, so on PostgreSQL these are real parallel
transactions (on SQLite, IMMEDIATE transactions take turns anyway). Before the name locks of
config.locks, PostgreSQL made 2 requests of 5 parallel API calls, 2 of 3 parallel confirmations,
and 2 contacts of 5 parallel sign-ups: select_for_update locks rows, and there was none yet.
"""

from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from dsr import intake
from dsr.models import DataSubjectRequest
from staff.api_auth import api_key_create
from subscriptions.models import ConsentRequest, SubscriptionList
from tests.conftest import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_api_calls_for_one_address_and_type_open_exactly_one_request(privacy_officer):
    _key, text = api_key_create(user=privacy_officer, name="shop")

    def call(i):
        def run():
            body = {"kind": "access", "requester_email": "Same@Example.org", "details": f"call {i}"}
            client = Client(HTTP_AUTHORIZATION=f"Token {text}")
            return client.post("/api/v1/requests/", body, content_type="application/json").status_code

        return run

    statuses = run_together(*(call(i) for i in range(5)))
    assert sorted(statuses) == [200, 200, 200, 200, 201]  # one opened it, four joined it
    (request,) = DataSubjectRequest.objects.all()
    assert request.requester_email == "same@example.org"
    # The four that joined added their details to the one request.
    assert sorted(line.split("] ")[-1] for line in request.notes.splitlines()) == sorted(
        f"call {i}" for i in range(5) if f"call {i}" != request.details
    )


def test_parallel_confirmations_for_one_address_and_type_open_exactly_one_request(smtp):
    submissions = [intake.submission_create(kind="erase", email="same@example.org") for _ in range(3)]
    links = [urlparse(intake.submission_link(s)).path for s in submissions]

    def confirm(link):
        return lambda: Client().post(link).status_code

    assert run_together(*(confirm(link) for link in links)) == [200, 200, 200]
    (request,) = DataSubjectRequest.objects.all()
    assert request.status == DataSubjectRequest.Status.VERIFIED
    assert set(intake.RequestSubmission.objects.values_list("request", flat=True)) == {request.pk}


def test_parallel_sign_ups_of_one_new_address_make_one_contact(smtp):
    news = SubscriptionList.objects.create(name="News", slug="news", description="Monthly.", min_level=1)
    url = reverse("subscriptions:signup", args=[news.slug])

    def sign_up(i):
        def run():
            client = Client(REMOTE_ADDR=f"192.0.2.{i + 1}")
            return client.post(url, {"email": "new@example.org", "agree": "on"}).status_code

        return run

    assert run_together(*(sign_up(i) for i in range(5))) == [200] * 5
    (contact,) = Contact.objects.filter(email="new@example.org")
    assert ConsentRequest.objects.filter(contact=contact).exists()
