"""Bounces, complaints and unsubscribes come back from the email provider as signed webhooks
(django-anymail's Mailgun endpoint, posted with real HMAC signatures and basic auth) and do the
right thing, once per provider event."""

import base64
import hashlib
import hmac
import json
import secrets
import time

import pytest
from django.urls import reverse

from consent.models import ConsentChange, Source
from consent.selectors import Ineligibility, eligible_contacts, ineligibility_reason
from contacts.deliverability import block_lift
from contacts.models import Deliverability
from subscriptions.models import Subscription, SubscriptionList
from tests.factories import ContactFactory, with_consent

pytestmark = pytest.mark.django_db
KEY = "key-mailgun-signing"
AUTH = "mailgun:s3cret-basic-auth"
URL = "/anymail/mailgun/tracking/"


@pytest.fixture(autouse=True)
def provider(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": [AUTH], "MAILGUN_WEBHOOK_SIGNING_KEY": KEY}
    settings.MAIL_SOFT_BOUNCE_LIMIT = 3


def post(client, event: str, recipient: str, *, token=None, key=KEY, auth=AUTH, **data):
    token = token or secrets.token_hex(25)
    timestamp = str(int(time.time()))
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    body = {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {"event": event, "timestamp": time.time(), "recipient": recipient, "id": "x", **data},
    }
    headers = {"authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    return client.post(URL, json.dumps(body), content_type="application/json", headers=headers)


def test_a_hard_bounce_blocks_every_contact_of_the_address_without_touching_consent(client):
    first = with_consent(ContactFactory(email="gone@example.org"), level=4)
    second = with_consent(ContactFactory(email="gone@example.org"), level=4)
    records = ConsentChange.objects.count()

    response = post(client, "failed", "Gone@Example.org", severity="permanent", reason="bounce")

    assert response.status_code == 200
    assert Deliverability.objects.filter(blocked_since__isnull=False).count() == 2
    assert not eligible_contacts(min_level=4, channel="email").filter(pk__in=[first.pk, second.pk]).exists()
    assert eligible_contacts(min_level=4).filter(pk=first.pk).exists()  # processing as such goes on
    assert ineligibility_reason(first, min_level=4, channel="email") == Ineligibility.UNDELIVERABLE
    assert ConsentChange.objects.count() == records  # a bounce is not a consent change


def test_soft_bounces_block_at_the_limit(client):
    contact = ContactFactory(email="full@example.org")
    for _attempt in range(2):
        post(client, "failed", "full@example.org", severity="temporary")
    assert Deliverability.objects.get(contact=contact).blocked_since is None

    post(client, "failed", "full@example.org", severity="temporary")

    state = Deliverability.objects.get(contact=contact)
    assert state.blocked_since is not None and state.block_reason == "soft_bounces"


def test_a_complaint_withdraws_marketing_and_profiling_with_a_record(client, logging_on):
    contact = with_consent(ContactFactory(email="angry@example.org"), level=5, tracking_allowed=True)
    news = SubscriptionList.objects.create(name="News", slug="news")
    Subscription.objects.create(contact=contact, subscription_list=news, status="subscribed", source="import")

    post(
        client,
        "complained",
        "angry@example.org",
        token="tok-complaint",
        **{"user-variables": {"list": "news"}},
    )

    contact.refresh_from_db()
    assert (contact.consent_given, contact.tracking_allowed) == (3, False)
    record = ConsentChange.objects.filter(
        contact=contact, source=Source.COMPLAINT, field="consent_given"
    ).get()
    assert record.evidence["event_id"] == "tok-complaint" and record.evidence["provider"] == "Mailgun"
    assert Subscription.objects.get(contact=contact).status == Subscription.Status.UNSUBSCRIBED


def test_an_unsubscribe_at_the_provider_leaves_the_list_it_names(client):
    contact = ContactFactory(email="done@example.org")
    news, offers = (SubscriptionList.objects.create(name=n, slug=n) for n in ("news", "offers"))
    for lst in (news, offers):
        Subscription.objects.create(
            contact=contact, subscription_list=lst, status="subscribed", source="import"
        )

    post(client, "unsubscribed", "done@example.org", **{"user-variables": {"list": "offers"}})

    statuses = dict(Subscription.objects.values_list("subscription_list__slug", "status"))
    assert statuses == {"news": "subscribed", "offers": "unsubscribed"}


def test_a_redelivered_event_applies_once(client):
    contact = ContactFactory(email="twice@example.org")

    for _attempt in range(3):
        post(client, "failed", "twice@example.org", token="same-token", severity="temporary")

    assert Deliverability.objects.get(contact=contact).soft_bounces == 1


@pytest.mark.parametrize(
    "how",
    [{"key": "key-forged"}, {"auth": "mailgun:wrong"}, {"auth": ""}],
    ids=["forged signature", "wrong basic auth", "no basic auth"],
)
def test_an_unauthenticated_webhook_changes_nothing(client, how):
    contact = ContactFactory(email="target@example.org")

    response = post(client, "failed", "target@example.org", severity="permanent", **how)

    assert response.status_code in (400, 401, 403)
    assert not Deliverability.objects.filter(contact=contact).exists()


def test_without_a_webhook_secret_the_endpoint_does_not_exist(client, settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": KEY}
    contact = ContactFactory(email="target@example.org")

    response = post(client, "failed", "target@example.org", severity="permanent", auth="")

    assert response.status_code == 404
    assert not Deliverability.objects.filter(contact=contact).exists()


def test_an_officer_lifts_a_block_with_a_reason(client, privacy_officer):
    contact = with_consent(ContactFactory(email="back@example.org"), level=4)
    post(client, "failed", "back@example.org", severity="permanent", reason="bounce")

    block_lift(contact=contact, actor=privacy_officer, reason="the person fixed the mailbox")

    assert eligible_contacts(min_level=4, channel="email").filter(pk=contact.pk).exists()
    last = Deliverability.history.filter(contact_id=contact.pk).latest("history_id")
    assert last.history_change_reason == "the person fixed the mailbox"


def test_the_officer_lifts_a_block_in_the_admin_only_with_a_reason(client, client_as, privacy_officer):
    contact = ContactFactory(email="back@example.org")
    post(client, "failed", "back@example.org", severity="permanent", reason="bounce")
    url = reverse("admin:contacts_deliverability_change", args=[contact.deliverability.pk])
    officer = client_as(privacy_officer)

    refused = officer.post(url, {"lift_reason": ""})
    assert refused.status_code == 200 and Deliverability.objects.get().blocked_since is not None

    officer.post(url, {"lift_reason": "fixed their mailbox, told us by phone"})
    assert Deliverability.objects.get().blocked_since is None


def test_the_dashboard_shows_each_list_s_complaint_rate_against_the_ceiling(
    client, client_as, privacy_officer, smtp
):
    from journeys.services import journeys_run
    from tests.factories import make_journey, make_segment

    news = SubscriptionList.objects.create(name="News", slug="news")
    make_journey(
        segment=make_segment({"field": "country", "op": "eq", "value": "DE"}),
        steps=("email",),
        subscription_list=news,
        purpose=None,
    )
    people = [
        with_consent(ContactFactory(country="DE", email=f"p{n}@example.org"), level=4) for n in range(3)
    ]
    for person in people:
        Subscription.objects.create(
            contact=person, subscription_list=news, status="subscribed", source="import"
        )
    journeys_run()
    post(client, "complained", "p0@example.org", **{"user-variables": {"list": "news"}})

    page = client_as(privacy_officer).get(reverse("consent-dashboard")).content.decode()

    row = page.split("Bounces and complaints per list")[1].split("</tr>")[1]
    assert "News" in row and '<td style="text-align:right">3</td>' in row  # three sent
    assert "33.33 %" in row and "over the ceiling" in row


def test_odd_bytes_from_the_provider_apply_once_without_an_error(client, logging_on):
    contact = with_consent(ContactFactory(email="odd@example.org"), level=5)
    odd = {"user-variables": {"list": "news\x00"}, "message": {"headers": {"message-id": "<a\x00b>"}}}

    for _attempt in range(2):  # a NUL and 300 characters in the provider's event id
        assert (
            post(client, "complained", "odd@example.org", token="tok\x00" + "x" * 300, **odd).status_code
            == 200
        )

    contact.refresh_from_db()
    assert contact.consent_given == 3
    assert ConsentChange.objects.filter(contact=contact, source=Source.COMPLAINT).count() == 1


def test_a_forged_post_with_a_non_ascii_token_is_refused_not_a_server_error(client):
    body = {
        "signature": {"timestamp": "1", "token": "\u00e9", "signature": "x"},
        "event-data": {"event": "failed"},
    }
    headers = {"authorization": "Basic " + base64.b64encode(AUTH.encode()).decode()}

    response = client.post(URL, json.dumps(body), content_type="application/json", headers=headers)

    assert response.status_code == 400
