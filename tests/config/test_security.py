"""Headers on every response and rate limits on the public pages."""

import pytest
from django.urls import reverse

from subscriptions.models import SubscriptionList

pytestmark = pytest.mark.django_db


def test_every_page_forbids_inline_script_and_framing(client):
    response = client.get(reverse("admin:login"))
    policy = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_public_pages_carry_no_inline_script(client):
    SubscriptionList.objects.create(name="News", slug="news")
    page = client.get(reverse("subscriptions:signup", args=["news"])).content.decode()
    assert "<script" not in page


@pytest.mark.django_db(transaction=True)  # mail leaves on commit
def test_signup_is_rate_limited_per_address_and_says_when_to_retry(client, smtp):
    SubscriptionList.objects.create(name="News", slug="news")
    url = reverse("subscriptions:signup", args=["news"])
    statuses = [
        client.post(
            url, {"email": f"p{i}@example.org", "agree": "on"}, REMOTE_ADDR="198.51.100.1"
        ).status_code
        for i in range(7)
    ]
    assert statuses == [200] * 5 + [429] * 2
    other = client.post(url, {"email": "q@example.org", "agree": "on"}, REMOTE_ADDR="198.51.100.2")
    assert other.status_code == 200  # another client is not affected
    limited = client.post(url, {"email": "z@example.org", "agree": "on"}, REMOTE_ADDR="198.51.100.1")
    assert limited["Retry-After"] == "60"
    assert len(smtp.messages) == 6  # refused requests sent nothing
