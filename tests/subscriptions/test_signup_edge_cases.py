"""The public sign-up with addresses that need care: a child's, and one being flooded."""

import pytest
from django.test import Client
from django.urls import reverse

from subscriptions.models import ConsentRequest, SubscriptionList
from tests.factories import ContactFactory, PurposeFactory
from tests.pages import same_page

pytestmark = pytest.mark.django_db(transaction=True)  # mail leaves on commit, as in production


@pytest.fixture
def news_list():
    return SubscriptionList.objects.create(
        name="Monthly news", slug="monthly-news", description="One email a month.", min_level=1
    )


@pytest.fixture
def profiling_list():
    return SubscriptionList.objects.create(
        name="Offers for you",
        slug="offers",
        description="Picked for you.",
        min_level=5,
        purpose=PurposeFactory(slug="offers"),
    )


@pytest.mark.parametrize("list_fixture", ["news_list", "profiling_list"])
def test_a_sign_up_with_a_childs_address_answers_as_for_any_address_and_sends_nothing(
    request, list_fixture, smtp
):
    """It was a 500 whose traceback said the address belongs to a child (guardian without email);
    a list that needs profiling was a 500 too ("Profiling is not available for children")."""
    subscription_list = request.getfixturevalue(list_fixture)
    guardian = ContactFactory(email="", phone="+49 30 1234567")
    ContactFactory(is_child=True, guardian=guardian, email="kid@example.org")
    url = reverse("subscriptions:signup", args=[subscription_list.slug])
    client = Client(raise_request_exception=False)
    child = client.post(url, {"email": "kid@example.org", "agree": "on"})
    stranger = client.post(url, {"email": "stranger@example.org", "agree": "on"})
    assert child.status_code == stranger.status_code == 200
    assert same_page(child) == same_page(stranger)
    assert not ConsentRequest.objects.filter(contact__email="kid@example.org").exists()
    assert [m["To"] for m in smtp.messages] == ["stranger@example.org"]
