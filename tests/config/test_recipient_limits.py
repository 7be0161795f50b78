"""Confirmation emails are limited per recipient, not only per client: a bot spread over many
client addresses cannot fill one person's inbox, and the page it sees does not change (which would
tell it the limit was reached, and so that the address was asked for before)."""

import pytest
from django.test import Client
from django.urls import reverse

from subscriptions.models import SubscriptionList
from tests.pages import same_page

pytestmark = pytest.mark.django_db(transaction=True)  # mail leaves on commit, as in production


def post_from_12_clients(url, data):
    return [Client(REMOTE_ADDR=f"198.51.100.{i}").post(url, data) for i in range(1, 13)]


def test_twelve_sign_ups_of_one_address_from_twelve_clients_send_three_emails(smtp, settings):
    assert settings.CONFIRMATION_EMAILS_PER_ADDRESS_PER_HOUR == 3
    SubscriptionList.objects.create(name="News", slug="news", min_level=1)
    url = reverse("subscriptions:signup", args=["news"])
    responses = post_from_12_clients(url, {"email": "Target@Example.org", "agree": "on"})
    assert {r.status_code for r in responses} == {200}
    assert len({same_page(r) for r in responses}) == 1  # the same page, limited or not
    assert [m["To"] for m in smtp.messages] == ["target@example.org"] * 3
    Client(REMOTE_ADDR="198.51.100.99").post(url, {"email": "other@example.org", "agree": "on"})
    assert smtp.messages[-1]["To"] == "other@example.org"  # another address is not affected


def test_twelve_request_forms_for_one_address_from_twelve_clients_send_three_emails(smtp):
    from dsr.models import RequestSubmission

    url = reverse("dsr:request")
    responses = post_from_12_clients(url, {"kind": "access", "email": "target@example.org"})
    assert {r.status_code for r in responses} == {200}
    assert len({same_page(r) for r in responses}) == 1
    assert [m["To"] for m in smtp.messages] == ["target@example.org"] * 3
    assert RequestSubmission.objects.count() == 3  # the others stored nothing
