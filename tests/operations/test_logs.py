"""Structured logs: one JSON object per line with the request id, user and view, and nothing that
names a person or opens their data, through a whole visit of the public pages and the back office."""

import io
import json
import logging
from urllib.parse import urlparse

import pytest
from django.urls import reverse

from consent.models import Source
from consent.services import consent_change
from contacts.models import Contact
from dsr.erasure import contacts_erase
from operations.logs import ContextFilter, JsonLineFormatter
from subscriptions.models import SubscriptionList
from subscriptions.services import center_link
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL, NAME, PHONE = "winifred.quill@example.org", "Winifred", "+49 30 1234567"


@pytest.fixture
def json_log():
    """The production logging set-up (LOG_FORMAT=json, INFO), writing to a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(ContextFilter())
    root, watched = (
        logging.getLogger(),
        [logging.getLogger(name) for name in ("django", "consent_office.requests", "consent_office.tasks")],
    )
    saved = root.level, [(lg, lg.level) for lg in watched]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for logger in watched:
        logger.setLevel(logging.INFO)
        if handler not in logger.handlers and not logger.propagate:
            logger.addHandler(handler)
    yield stream
    root.removeHandler(handler)
    root.setLevel(saved[0])
    for logger, level in saved[1]:
        logger.setLevel(level)
        if handler in logger.handlers:
            logger.removeHandler(handler)


def path(url: str) -> str:
    return urlparse(url).path


def test_a_whole_visit_logs_ids_and_views_but_no_personal_data_or_link(
    client, client_as, privacy_officer, smtp, logging_on, json_log
):
    news = SubscriptionList.objects.create(
        name="News", slug="news", purpose=PurposeFactory(slug="news"), min_level=3
    )
    # A visitor signs up and confirms; staff look them up; the link of someone else is guessed.
    client.post(
        reverse("subscriptions:signup", args=[news.slug]), {"email": EMAIL, "first_name": NAME, "agree": "on"}
    )
    (confirm,) = smtp.links(EMAIL)
    client.post(path(confirm), {"action": "confirm"})
    contact = Contact.objects.get(email=EMAIL)
    center = center_link(contact=contact)
    client.get(path(center))
    token = path(center).split("/")[-2]
    mistyped = "x" + token[1:]  # a link someone copied wrong still opens nothing, and is not logged
    client.get(path(center).replace(token, mistyped))
    client.get(f"/lists/{EMAIL}/")  # a 404 whose path names the person
    officer = client_as(privacy_officer)
    officer.get(reverse("admin:contacts_contact_changelist"), {"q": EMAIL})
    officer.get(reverse("admin:contacts_contact_change", args=[contact.pk]))
    other = ContactFactory(email="second.person@example.org", phone=PHONE, first_name="Bartholomew")
    consent_change(
        contact=other, level=2, source=Source.ADMIN, actor=privacy_officer, justification="phone call"
    )
    contacts_erase(contacts=[contact, other], actor=privacy_officer)

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    requests = [line for line in lines if line["logger"] == "consent_office.requests"]
    assert len(requests) >= 7
    assert all(len(line["request_id"]) == 32 and "duration_ms" in line for line in requests)
    assert {"subscriptions:signup", "subscriptions:confirm", "admin:contacts_contact_change"} <= {
        line["view"] for line in requests
    }
    assert any(line["user_id"] == privacy_officer.pk for line in requests)
    text = json_log.getvalue()
    secrets = [EMAIL, NAME, "second.person", "Bartholomew", "1234567", path(confirm).split("/")[-2]]
    secrets += [token, mistyped]
    assert [s for s in secrets if s in text] == []


def test_a_request_keeps_the_id_its_proxy_gave_and_refuses_a_malformed_one(client, json_log):
    assert client.get("/health/live/", HTTP_X_REQUEST_ID="lb-7f3a.42")["X-Request-Id"] == "lb-7f3a.42"
    forged = client.get("/health/live/", HTTP_X_REQUEST_ID='x"\n{"level": "ERROR"}')["X-Request-Id"]
    assert len(forged) == 32 and "\n" not in forged
    ids = [json.loads(line)["request_id"] for line in json_log.getvalue().splitlines()]
    assert ids == ["lb-7f3a.42", forged]
