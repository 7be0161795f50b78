""" "Download my consent receipt" in the subscription center: the person's receipts as a file, by
the emailed link (unknown: 404, expired: 410) or from the center visit, in their language."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from consent.models import Source
from consent.receipts.verify import receipt_verify
from consent.services import consent_change
from subscriptions import tokens
from subscriptions.models import AccessToken
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(logging_on):
    contact = ContactFactory(email="ida@example.org", language="de")
    consent_change(contact=contact, purposes={PurposeFactory(slug="news"): True}, source=Source.DOUBLE_OPT_IN)
    return contact


def _link(contact, days=1) -> str:
    _token, text = tokens.issue(kind=AccessToken.Kind.CENTER, contact=contact, lifetime=timedelta(days=days))
    return text


def test_the_emailed_link_downloads_the_receipt(person, client):
    other = ContactFactory()
    consent_change(contact=other, level=2, source=Source.DOUBLE_OPT_IN)
    response = client.get(reverse("subscriptions:center-receipt-link", args=[_link(person)]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="consent-receipt.jsonld"'
    document = json.loads(response.content)
    (receipt,) = document["@graph"]  # this person's record, nobody else's
    assert receipt["hasDataSubject"]["hasContact"] == "mailto:ida@example.org"
    assert [check.ok for check in receipt_verify(document)] == [True]


def test_a_forged_link_is_404_and_an_expired_one_410(person, client):
    assert client.get(reverse("subscriptions:center-receipt-link", args=["not-a-link"])).status_code == 404
    expired = reverse("subscriptions:center-receipt-link", args=[_link(person, days=-1)])
    assert client.get(expired).status_code == 410


def test_the_center_offers_the_download_in_the_persons_language(person, client):
    client.get(reverse("subscriptions:center-entry", args=[_link(person)]))
    page = client.get(reverse("subscriptions:center"))
    assert "Meinen Einwilligungsnachweis herunterladen" in page.text
    download = client.get(reverse("subscriptions:center-receipt"))
    assert download.status_code == 200 and len(json.loads(download.content)["@graph"]) == 1
    client.logout()
    assert client.get(reverse("subscriptions:center-receipt")).status_code == 403
