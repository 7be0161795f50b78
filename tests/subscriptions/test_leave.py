"""Leaving everything with one click: the center's "Unsubscribe from everything" button and the
"stop all marketing" link, both one service (subscriptions.services.leave.everything_leave)."""

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentChange, PurposeConsent, Source
from consent.services import consent_change
from subscriptions.models import AccessToken, Subscription, SubscriptionList
from subscriptions.services import center_link, subscription_set
from subscriptions.services.links import leave_link
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db


def path(url):
    return urlparse(url).path


@pytest.fixture
def newsletter(db):
    return PurposeFactory(name="Newsletter", slug="newsletter")


@pytest.fixture
def ivy(logging_on, newsletter):
    """A contact at Profiling, tracked, saying yes to the newsletter and on two lists."""
    contact = ContactFactory(first_name="Ivy", email="ivy@contoso.com")
    consent_change(
        contact=contact, level=5, purposes={newsletter: True}, tracking_allowed=True, source=Source.IMPORT
    )
    for name in ("News", "Offers"):
        lst = SubscriptionList.objects.create(name=name, slug=name.lower(), purpose=newsletter)
        subscription_set(contact=contact, subscription_list=lst, status="subscribed", source=Source.IMPORT)
    contact.refresh_from_db()
    return contact


def left_everything(contact, newsletter) -> bool:
    contact.refresh_from_db()
    return (
        contact.consent_given == 2
        and not contact.tracking_allowed
        and PurposeConsent.objects.get(contact=contact, purpose=newsletter).granted is False
        and not Subscription.objects.filter(contact=contact).exclude(status="unsubscribed").exists()
    )


def test_the_center_button_unsubscribes_from_everything_at_once_with_records(ivy, newsletter):
    browser = Client(enforce_csrf_checks=True)
    entry = browser.get(path(center_link(contact=ivy)))
    center = browser.get(entry["Location"])
    assert "Unsubscribe from everything" in center.content.decode()
    before = ConsentChange.objects.filter(contact=ivy).count()

    done = browser.post(
        reverse("subscriptions:center"),
        {"csrfmiddlewaretoken": center.cookies["csrftoken"].value, "action": "leave_everything"},
    )

    assert done.status_code == 200
    page = done.content.decode()
    assert "You left everything" in page and "<li>News</li>" in page and "<li>Offers</li>" in page
    assert left_everything(ivy, newsletter)
    records = ConsentChange.objects.filter(contact=ivy)
    new = [r for r in records if r.source == Source.SUBSCRIPTION_CENTER]
    assert len(new) == 3 and ConsentChange.objects.filter(contact=ivy).count() == before + 3
    assert {r.field for r in new} == {"consent_given", "purpose", "tracking_allowed"}
    assert all(r.evidence["page"] == "subscription center" for r in new)


def test_leaving_everything_again_changes_and_records_nothing(ivy, newsletter):
    link = path(leave_link(contact=ivy))
    browser = Client()
    assert browser.post(link).status_code == 200
    count = ConsentChange.objects.count()
    again = browser.post(link)
    assert again.status_code == 200 and "There was nothing left to stop" in again.content.decode()
    assert ConsentChange.objects.count() == count and left_everything(ivy, newsletter)


def test_the_stop_all_page_needs_its_csrf_token_and_changes_nothing_without_it(ivy):
    browser = Client(enforce_csrf_checks=True)
    link = path(leave_link(contact=ivy))
    assert browser.get(link).status_code == 200
    assert browser.post(link).status_code == 403
    ivy.refresh_from_db()
    assert ivy.consent_given == 5 and Subscription.objects.filter(status="subscribed").count() == 2


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_or_expired_stop_all_link_is_refused_and_changes_nothing(ivy, method):
    link = path(leave_link(contact=ivy))
    forged = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    response = getattr(Client(), method)(forged)
    assert response.status_code == 400 and "link" in response.content.decode().lower()

    AccessToken.objects.filter(kind=AccessToken.Kind.LEAVE).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = getattr(Client(), method)(link)
    assert response.status_code == 410 and "This link has expired" in response.content.decode()

    center_token = path(center_link(contact=ivy)).split("/")[2]  # another kind's link is no key here
    assert getattr(Client(), method)(f"/leave/{center_token}/").status_code == 400
    ivy.refresh_from_db()
    assert ivy.consent_given == 5 and Subscription.objects.filter(status="subscribed").count() == 2
