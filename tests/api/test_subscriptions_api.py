"""Lists and subscriptions through the API, as an integrator sees them: subscribing starts the
double opt-in (pending and a real confirmation email), unsubscribing applies at once, purposes and
lists are read-only, and rows of restricted contacts stay with the roles that see them."""

import re

import pytest

from consent.models import Purpose
from contacts.services import contact_update
from subscriptions.models import ConsentRequest, Subscription, SubscriptionList
from subscriptions.services import Status, subscription_set
from tests.factories import ContactFactory
from webhooks.models import Endpoint, Event, EventType

pytestmark = pytest.mark.django_db


@pytest.fixture
def news(db):
    purpose = Purpose.objects.create(name="Newsletter", slug="newsletter")
    return SubscriptionList.objects.create(name="News", slug="news", purpose=purpose, min_level=2)


def subscribe(client, contact, slug="news"):
    return client.post(
        "/api/v1/subscriptions/subscribe/",
        {"contact": contact.pk, "list": slug},
        content_type="application/json",
    )


def test_subscribing_starts_double_opt_in_with_a_real_email_and_the_link_confirms_it(
    api_as, marketer, news, smtp, client, django_capture_on_commit_callbacks
):
    holly = ContactFactory(email="holly@contoso.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = subscribe(api_as(marketer), holly)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["outcome"] == "asked" and body["subscription"]["status"] == "pending"
    assert body["confirmation_expires_at"]
    assert Subscription.objects.get(contact=holly).status == Status.PENDING
    holly.refresh_from_db()
    assert holly.consent_given == 0  # nothing applies before the confirmation
    assert ConsentRequest.objects.get().origin == "api"
    (mail,) = smtp.messages
    assert mail["To"] == "holly@contoso.com"
    link = re.search(r"https?://\S+/confirm/[^/\s]+/", mail.get_body(("plain",)).get_content()).group(0)
    client.post(link)
    assert Subscription.objects.get(contact=holly).status == Status.SUBSCRIBED
    holly.refresh_from_db()
    assert holly.consent_given == 2 and holly.purpose_consents.get().granted is True


def test_subscribing_again_while_waiting_or_subscribed_sends_nothing_new(api_as, marketer, news):
    holly = ContactFactory(email="holly@contoso.com")
    client = api_as(marketer)
    assert subscribe(client, holly).status_code == 202
    waiting = subscribe(client, holly)
    assert waiting.status_code == 200 and waiting.json()["outcome"] == "waiting"
    assert ConsentRequest.objects.count() == 1
    subscription_set(contact=holly, subscription_list=news, status=Status.SUBSCRIBED, source="import")
    already = subscribe(client, holly)
    assert already.status_code == 200 and already.json()["outcome"] == "subscribed"
    assert ConsentRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("closed list", "closed"),
        ("no address", "no email address"),
        ("restricted", "restricted"),
        ("child list", "Profiling"),
    ],
)
def test_a_refused_subscription_is_a_409_and_creates_nothing(api_as, privacy_officer, news, case, message):
    contact = ContactFactory(email="holly@contoso.com")
    if case == "closed list":
        news.active = False
        news.save()
    elif case == "no address":
        contact = ContactFactory(email="", phone="+49301234567")
    elif case == "restricted":
        contact_update(contact=contact, processing_restricted=True, reason="DSR restriction")
    elif case == "child list":
        news.min_level = 5
        news.save()
        contact = ContactFactory(email="kid@contoso.com", is_child=True, guardian=ContactFactory())
    response = subscribe(api_as(privacy_officer), contact)
    assert response.status_code == 409, response.content
    assert message in response.json()["detail"]
    assert not ConsentRequest.objects.exists() and not Subscription.objects.exists()


def test_an_unknown_contact_or_list_is_a_404_and_a_malformed_body_a_400(api_as, marketer, news):
    client = api_as(marketer)
    holly = ContactFactory(email="holly@contoso.com")
    assert subscribe(client, holly, slug="nope").json() == {"detail": "No such list."}
    missing = client.post(
        "/api/v1/subscriptions/subscribe/",
        {"contact": 10**9, "list": "news"},
        content_type="application/json",
    )
    assert missing.status_code == 404
    for body in ({"contact": "1", "list": "news"}, {"list": "news"}, {"contact": holly.pk, "list": 3}):
        response = client.post("/api/v1/subscriptions/subscribe/", body, content_type="application/json")
        assert response.status_code == 400, body
    assert not Subscription.objects.exists()


def test_unsubscribing_applies_at_once_and_tells_downstream_systems(api_as, marketer, news):
    holly = ContactFactory(email="holly@contoso.com")
    subscription_set(contact=holly, subscription_list=news, status=Status.SUBSCRIBED, source="import")
    Endpoint.objects.create(name="CRM", url="https://crm.example.org/hooks")
    response = api_as(marketer).post(
        "/api/v1/subscriptions/unsubscribe/",
        {"contact": holly.pk, "list": "news"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "unsubscribed" and response.json()["source"] == "api"
    assert Subscription.objects.get().status == Status.UNSUBSCRIBED
    event = Event.objects.get(type=EventType.UNSUBSCRIBED)
    assert event.payload["data"]["list"] == "news"


def test_a_contacts_subscriptions_are_listed_by_its_id(api_as, auditor, news):
    holly, other = ContactFactory(email="holly@contoso.com"), ContactFactory()
    subscription_set(contact=holly, subscription_list=news, status=Status.SUBSCRIBED, source="import")
    subscription_set(contact=other, subscription_list=news, status=Status.PENDING, source="import")
    response = api_as(auditor).get("/api/v1/subscriptions/", {"contact": holly.pk})
    assert [(s["contact"], s["list"], s["status"]) for s in response.json()["results"]] == [
        (holly.pk, "news", "subscribed")
    ]


def test_a_restricted_contacts_subscriptions_reach_only_the_officer(
    api_as, marketer, auditor, privacy_officer, news
):
    kept = ContactFactory(email="kept@contoso.com")
    subscription_set(contact=kept, subscription_list=news, status=Status.SUBSCRIBED, source="import")
    contact_update(contact=kept, processing_restricted=True, reason="DSR restriction")
    for user, seen in ((marketer, 0), (auditor, 0), (privacy_officer, 1)):
        assert len(api_as(user).get("/api/v1/subscriptions/").json()["results"]) == seen
    # Nor can a marketer act on them: the contact is not there for them.
    response = api_as(marketer).post(
        "/api/v1/subscriptions/unsubscribe/",
        {"contact": kept.pk, "list": "news"},
        content_type="application/json",
    )
    assert response.status_code == 404


def test_an_auditor_reads_but_cannot_subscribe_or_unsubscribe(api_as, auditor, news):
    holly = ContactFactory(email="holly@contoso.com")
    client = api_as(auditor)
    assert subscribe(client, holly).status_code == 403
    body = {"contact": holly.pk, "list": "news"}
    assert (
        client.post("/api/v1/subscriptions/unsubscribe/", body, content_type="application/json").status_code
        == 403
    )
    assert not Subscription.objects.exists()


def test_purposes_and_lists_are_read_by_their_keys(api_as, marketer, news):
    client = api_as(marketer)
    assert [p["slug"] for p in client.get("/api/v1/purposes/").json()] == ["newsletter"]
    assert client.get("/api/v1/purposes/newsletter/").json()["name"] == "Newsletter"
    lists = client.get("/api/v1/lists/").json()
    assert [(lst["slug"], lst["purpose"], lst["min_level"]) for lst in lists] == [("news", "newsletter", 2)]
    assert client.get("/api/v1/lists/nope/").status_code == 404
    assert client.post("/api/v1/lists/", {"name": "x"}, content_type="application/json").status_code == 405
