"""Forward to a friend: the friend gets that one email, is never a contact, and is forgotten."""

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from contacts.models import Contact
from contacts.suppression import suppression_add
from journeys.forwarding import MAX_FORWARDS, forwards_purge
from journeys.models import ForwardedEmail, Interaction
from journeys.services import interactions_purge, journeys_run
from subscriptions.models import SubscriptionList
from tests.factories import make_journey
from tests.pages import same_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def forward_path(member, smtp):
    news = SubscriptionList.objects.create(name="News", slug="news", public=True)
    make_journey(steps=("email",), subscription_list=news)
    member(first_name="Holly", email="holly@contoso.com")
    journeys_run()
    (link,) = [link for link in smtp.links("holly@contoso.com") if "/forward/" in link]
    smtp.messages.clear()
    return urlparse(link).path


def test_the_friend_gets_that_one_email_without_anyones_name_and_is_not_a_contact(client, forward_path, smtp):
    contacts_before = Contact.objects.count()
    assert client.get(forward_path).status_code == 200
    sent = client.post(forward_path, {"friend_email": "Friend@Example.org"})
    assert sent.status_code == 200 and "Thank you" in sent.text
    (mail,) = smtp.messages
    assert mail["To"] == "friend@example.org" and "Holly" not in mail["Subject"]
    (body,) = smtp.bodies("friend@example.org")
    assert "forwarded this email to you" in body and "/lists/news/" in body  # why, and how to join
    assert "List-Unsubscribe" not in mail  # on no list: nothing more will come
    assert Contact.objects.count() == contacts_before  # the friend is not a contact

    again = client.post(forward_path, {"friend_email": "friend@example.org"})
    assert same_page(again) == same_page(sent) and len(smtp.messages) == 1  # once per address


def test_forwarding_is_limited_and_erased_addresses_get_nothing(client, forward_path, smtp, settings):
    settings.RATE_LIMITS_ENABLED = False  # the per-email limit is what is tested here
    suppression_add(email="erased@example.org", reason="DSR-1")
    blocked = client.post(forward_path, {"friend_email": "erased@example.org"})
    assert "Thank you" in blocked.text and smtp.messages == []  # the same answer, nothing sent
    for i in range(MAX_FORWARDS):
        client.post(forward_path, {"friend_email": f"f{i}@example.org"})
    refused = client.post(forward_path, {"friend_email": "one-too-many@example.org"})
    assert "as often as it can be" in refused.text
    assert len(smtp.messages) == MAX_FORWARDS


def test_a_forged_link_forwards_nothing(client, forward_path, smtp):
    assert client.post(forward_path[:-3] + "xx/", {"friend_email": "a@example.org"}).status_code == 400
    assert smtp.messages == [] and not ForwardedEmail.objects.exists()


def test_forwards_are_forgotten_after_30_days_and_interactions_after_their_retention(
    client, forward_path, smtp, member
):
    client.post(forward_path, {"friend_email": "friend@example.org"})
    assert forwards_purge(now=timezone.now() + timedelta(days=29)) == 0
    assert forwards_purge(now=timezone.now() + timedelta(days=31)) == 1

    contact = member()
    now = timezone.now()
    Interaction.objects.create(contact=contact, kind="page_visit", at=now - timedelta(days=400))
    Interaction.objects.create(contact=contact, kind="page_visit", at=now - timedelta(days=10))
    assert interactions_purge(now=now) == 1  # the default keeps a year
    assert Interaction.objects.get().at > now - timedelta(days=11)


def test_erasing_the_sender_forgets_the_friends_address(client, forward_path, smtp, privacy_officer):
    from dsr.erasure import contacts_erase

    client.post(forward_path, {"friend_email": "friend@example.org"})
    contacts_erase(contacts=[Contact.objects.get(email="holly@contoso.com")], actor=privacy_officer)
    assert not ForwardedEmail.objects.exists()
