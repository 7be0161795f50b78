"""Email-level opt-out, Global Privacy Control, children, partial confirmation and sending once."""

from urllib.parse import urlparse

import pytest
from celery.exceptions import Retry
from django.urls import reverse

from consent.models import ConsentChange, Source
from consent.services import consent_change
from core.models import ComplianceSettings
from subscriptions.models import ConsentRequest, Subscription, SubscriptionList
from subscriptions.services import RequestMeta, center_link, consent_request_create, unsubscribe_link
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db(transaction=True)


def path(url):
    return urlparse(url).path


@pytest.fixture
def twins(logging_on):
    """Two contacts sharing one address, both at Marketing and on the same list."""
    news = SubscriptionList.objects.create(name="News", slug="news", min_level=3)
    people = [ContactFactory(email="shared@example.org", first_name=name) for name in ("Ann", "Bob")]
    for person in people:
        consent_change(contact=person, level=4, tracking_allowed=True, source=Source.IMPORT)
        Subscription.objects.create(
            contact=person, subscription_list=news, status="subscribed", source="import"
        )
    return people, news


def lower_in_center(client, contact, level):
    client.get(path(center_link(contact=contact)))
    data = {
        "consent_given": str(level),
        "tracking": "allow",
        "first_name": contact.first_name,
        "email": contact.email,
    }
    return client.post(reverse("subscriptions:center"), data)


def test_contact_level_opt_out_stops_only_the_contact_who_opts_out(client, twins, smtp):
    (ann, bob), _news = twins
    page = lower_in_center(client, ann, 2)
    ann.refresh_from_db(), bob.refresh_from_db()
    assert (ann.consent_given, bob.consent_given) == (2, 4)
    center = client.get(reverse("subscriptions:center")).content.decode()
    assert "applies to this record only" in center
    assert page.status_code == 200


def test_email_level_opt_out_stops_everyone_sharing_the_address(client, twins, smtp):
    settings = ComplianceSettings.load()
    settings.email_level_opt_out = True
    settings.save()
    (ann, bob), news = twins
    lower_in_center(client, ann, 2)
    bob.refresh_from_db()
    assert bob.consent_given == 2
    record = ConsentChange.objects.filter(contact=bob).latest("id")
    assert (
        record.evidence["email_level_opt_out"] is True and record.evidence["opted_out_by_contact"] == ann.pk
    )
    assert (
        "every record we hold with the address"
        in client.get(reverse("subscriptions:center")).content.decode()
    )

    # One-click unsubscribe from Ann's email ends Bob's subscription too.
    client.post(path(unsubscribe_link(contact=ann, subscription_list=news)))
    assert set(Subscription.objects.values_list("status", flat=True)) == {Subscription.Status.UNSUBSCRIBED}


def test_gpc_signal_refuses_tracking_and_profiling_and_is_recorded(client, logging_on, smtp):
    contact = ContactFactory()
    consent_change(contact=contact, level=5, tracking_allowed=True, source=Source.IMPORT)
    client.get(path(center_link(contact=contact)))
    page = client.get(reverse("subscriptions:center"), HTTP_SEC_GPC="1")
    assert "Global Privacy Control" in page.content.decode()
    contact.refresh_from_db()
    assert (contact.consent_given, contact.tracking_allowed) == (4, False)
    records = ConsentChange.objects.filter(contact=contact, source=Source.SUBSCRIPTION_CENTER)
    # The signal is also an opt-out of sale and sharing (CCPA regs §7025): tests/subscriptions/test_privacy_choices.py
    assert {r.field for r in records} == {"consent_given", "tracking_allowed", "purpose"}
    assert all(r.evidence["gpc"] is True for r in records)

    # While the signal is sent, asking for profiling again starts no double opt-in.
    data = {
        "consent_given": "5",
        "tracking": "allow",
        "first_name": contact.first_name,
        "email": contact.email,
    }
    client.post(reverse("subscriptions:center"), data, HTTP_SEC_GPC="1")
    assert not ConsentRequest.objects.exists() and smtp.messages == []


def test_a_childs_raise_is_confirmed_by_the_guardian(client, logging_on, smtp):
    guardian = ContactFactory(email="parent@example.org")
    child = ContactFactory(is_child=True, guardian=guardian, email="kid@example.org")
    client.get(path(center_link(contact=child)))
    data = {"consent_given": "3", "tracking": "deny", "first_name": child.first_name, "email": child.email}
    client.post(reverse("subscriptions:center"), data)
    assert smtp.bodies("kid@example.org") == []
    (body,) = smtp.bodies("parent@example.org")
    assert "guardian" in body
    client.post(path(smtp.links("parent@example.org")[0]), {"action": "confirm"})
    child.refresh_from_db()
    assert child.consent_given == 3
    record = ConsentChange.objects.get(contact=child, source=Source.DOUBLE_OPT_IN)
    assert record.evidence["confirmed_by"] == "guardian" and record.evidence["guardian"] == guardian.pk


def test_a_childs_center_choice_that_needs_profiling_is_refused_in_the_words_of_every_door(
    client, logging_on, smtp
):
    """A list that needs Profiling, joined by a child, is refused with the message the consent
    service, the API and the import report give (consent.rules), and nothing is asked for."""
    guardian = ContactFactory(email="parent@example.org")
    child = ContactFactory(is_child=True, guardian=guardian, email="kid@example.org")
    offers = SubscriptionList.objects.create(name="Offers for you", slug="offers", min_level=5)
    client.get(path(center_link(contact=child)))
    data = {
        "consent_given": "0",
        "tracking": "deny",
        "lists": [str(offers.pk)],
        "first_name": child.first_name,
        "email": child.email,
    }
    page = client.post(reverse("subscriptions:center"), data)
    assert page.status_code == 200
    assert "A child can never be given Profiling consent (GDPR Art. 8)." in page.content.decode()
    assert not ConsentRequest.objects.exists() and smtp.messages == []


def test_a_contact_can_confirm_some_lists_and_not_others(client, logging_on, smtp):
    weekly = PurposeFactory(slug="weekly")
    news = SubscriptionList.objects.create(name="News", slug="news", min_level=3)
    deals = SubscriptionList.objects.create(name="Deals", slug="deals", min_level=4, purpose=weekly)
    contact = ContactFactory()
    consent_change(contact=contact, level=1, source=Source.IMPORT)
    consent_request_create(
        contact=contact, changes={"lists": [news.pk, deals.pk]}, origin="center", meta=RequestMeta()
    )
    link = path(smtp.links()[0])
    client.post(link, {"action": "confirm", "lists_offered": "1", "lists": [str(news.pk)]})
    statuses = dict(Subscription.objects.values_list("subscription_list__slug", "status"))
    assert statuses == {"news": "subscribed", "deals": "unsubscribed"}
    contact.refresh_from_db()
    assert contact.consent_given == 3  # what News needs, not the Marketing that Deals would have needed
    assert not contact.purpose_consents.filter(purpose=weekly).exists()


def test_the_confirmation_email_is_sent_once_however_often_the_task_runs(logging_on, smtp):
    from subscriptions.tasks import send_consent_request

    contact = ContactFactory()
    request = consent_request_create(
        contact=contact, changes={"level": 3}, origin="center", meta=RequestMeta()
    )
    assert len(smtp.messages) == 1  # sent when the transaction committed
    assert send_consent_request(request.pk) is False
    assert send_consent_request(request.pk) is False
    assert len(smtp.messages) == 1


def test_a_failed_send_releases_its_claim_so_a_retry_sends(logging_on, smtp, settings):
    import socket

    from subscriptions.tasks import send_consent_request

    live_port = settings.EMAIL_PORT
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = probe.getsockname()[1]  # nothing listens there: a mail server that is down
    contact = ContactFactory()
    with pytest.raises(Retry):  # Celery schedules the task again
        consent_request_create(contact=contact, changes={"level": 3}, origin="center", meta=RequestMeta())
    request = ConsentRequest.objects.get()  # the request itself was committed
    assert request.send_claimed_at is None and request.sent_at is None

    settings.EMAIL_PORT = live_port  # the server is back: the retry sends, once
    assert send_consent_request(request.pk) is True
    assert send_consent_request(request.pk) is False
    assert len(smtp.messages) == 1


def test_officer_sees_confirmation_outcomes_per_list_and_resends_an_expired_one(
    client_as, privacy_officer, logging_on, smtp
):
    from datetime import timedelta

    from django.utils import timezone

    from subscriptions.models import AccessToken

    news = SubscriptionList.objects.create(name="News", slug="news", min_level=3)
    requests = [
        consent_request_create(
            contact=ContactFactory(), changes={"lists": [news.pk]}, origin="signup", meta=RequestMeta()
        )
        for _ in range(3)
    ]
    client_as(privacy_officer).post(path(smtp.links()[0]), {"action": "confirm"})  # first one confirmed
    AccessToken.objects.filter(consent_request=requests[1]).update(
        expires_at=timezone.now() - timedelta(hours=1)
    )

    client = client_as(privacy_officer)
    row = client.get(reverse("admin:subscriptions_subscriptionlist_changelist")).context["cl"].result_list[0]
    assert (row.n_pending, row.n_confirmed, row.n_expired) == (1, 1, 1)
    listing = client.get(reverse("admin:subscriptions_consentrequest_changelist"), {"status": "expired"})
    assert list(listing.context["cl"].result_list) == [requests[1]]

    sent_before = len(smtp.messages)
    client.post(
        reverse("admin:subscriptions_consentrequest_changelist"),
        {"action": "resend", "_selected_action": [requests[1].pk]},
    )
    assert len(smtp.messages) == sent_before + 1
    assert ConsentRequest.objects.filter(contact=requests[1].contact).count() == 2


def test_auditor_cannot_resend(client_as, auditor, logging_on, smtp):
    news = SubscriptionList.objects.create(name="News", slug="news", min_level=3)
    request = consent_request_create(
        contact=ContactFactory(), changes={"lists": [news.pk]}, origin="signup", meta=RequestMeta()
    )
    response = client_as(auditor).post(
        reverse("admin:subscriptions_consentrequest_changelist"),
        {"action": "resend", "_selected_action": [request.pk]},
    )
    assert response.status_code == 200  # the action is not offered: the list page is shown again
    assert ConsentRequest.objects.count() == 1 and len(smtp.messages) == 1


def test_a_child_who_comes_of_age_is_recorded_as_an_adult_and_invited_once(logging_on, smtp):
    import datetime as dt

    from consent.models import ConsentChange
    from subscriptions.tasks import coming_of_age

    today = dt.date.today()
    guardian = ContactFactory(email="parent@example.org")
    birthday = (
        today.replace(year=today.year - 16)
        if not (today.month == 2 and today.day == 29)
        else dt.date(today.year - 16, 2, 28)
    )
    teen = ContactFactory(
        is_child=True, guardian=guardian, email="teen@example.org", first_name="Tia", date_of_birth=birthday
    )
    younger = ContactFactory(
        is_child=True,
        guardian=guardian,
        email="kid@example.org",
        date_of_birth=birthday + dt.timedelta(days=1),
    )
    consent_change(contact=teen, level=4, source=Source.DOUBLE_OPT_IN)

    assert coming_of_age() == 1
    teen.refresh_from_db(), younger.refresh_from_db()
    assert (teen.is_child, younger.is_child) == (False, True)
    assert teen.consent_given == 4  # unchanged until they choose
    record = ConsentChange.objects.get(contact=teen, field="is_child")
    assert (record.old_value, record.new_value, record.source) == ("True", "False", Source.SYSTEM)
    (body,) = smtp.bodies("teen@example.org")
    assert "yours to make" in body and smtp.links("teen@example.org")

    assert coming_of_age() == 0  # a rerun (or a second beat) invites nobody again
    assert len(smtp.bodies("teen@example.org")) == 1
