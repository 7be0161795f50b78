"""Headers on every response and rate limits on the public pages."""

from types import SimpleNamespace

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


@pytest.mark.django_db
def test_admin_login_is_refused_after_five_wrong_passwords_even_with_the_right_one(client):
    from tests.factories import UserFactory

    UserFactory(username="jane")
    UserFactory(username="omar")

    def attempt(username, password):
        return client.post("/admin/login/", {"username": username, "password": password})

    for _ in range(5):
        assert attempt("jane", "wrong").status_code == 200  # the form again, with its error
    locked = attempt("jane", "correct-horse-battery-staple")
    assert locked.status_code == 429 and locked["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session
    ok = attempt("omar", "correct-horse-battery-staple")  # another account from here still works
    assert ok.status_code == 302 and client.session["_auth_user_id"]


@pytest.mark.django_db
def test_one_address_cannot_walk_through_many_accounts(client):
    from config.login_throttle import PER_ADDRESS
    from tests.factories import UserFactory

    UserFactory(username="last")
    for i in range(PER_ADDRESS):
        client.post("/admin/login/", {"username": f"user{i}", "password": "guess"})
    refused = client.post("/admin/login/", {"username": "last", "password": "correct-horse-battery-staple"})
    assert refused.status_code == 429


@pytest.mark.django_db
def test_a_successful_login_clears_the_accounts_failures(client):
    from tests.factories import UserFactory

    UserFactory(username="jane")
    for _ in range(4):
        client.post("/admin/login/", {"username": "jane", "password": "wrong"})
    assert (
        client.post(
            "/admin/login/", {"username": "jane", "password": "correct-horse-battery-staple"}
        ).status_code
        == 302
    )
    client.logout()
    for _ in range(4):
        client.post("/admin/login/", {"username": "jane", "password": "wrong"})
    assert (
        client.post(
            "/admin/login/", {"username": "jane", "password": "correct-horse-battery-staple"}
        ).status_code
        == 302
    )


@pytest.mark.django_db
def test_a_burst_across_the_turn_of_a_minute_is_still_limited(client, monkeypatch):
    """Five requests at 12:00:59 and five more at 12:01:01 are ten within two seconds: the
    limit of five a minute refuses the second five, wherever the minute turns."""
    import core.security

    clock = {"now": 1_800_000_000 // 60 * 60 + 59.0}
    monkeypatch.setattr(core.security, "time", SimpleNamespace(time=lambda: clock["now"]))
    url = reverse("dsr:request")
    before = [client.post(url, {"kind": "access"}).status_code for _ in range(5)]
    clock["now"] += 2
    after = [client.post(url, {"kind": "access"}).status_code for _ in range(5)]
    assert before == [200] * 5
    assert after == [429] * 5
    clock["now"] += 120  # two quiet minutes later the client is welcome again
    assert client.post(url, {"kind": "access"}).status_code == 200
