"""The center page reads what it shows once: the offered purposes and lists with the person's
answers, the waiting requests only when there are some, the organisation's settings once."""

from urllib.parse import urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subscriptions.models import SubscriptionList
from subscriptions.services import center_link
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db


def test_the_center_page_reads_settings_once_and_each_offer_with_its_answer(client):
    news = PurposeFactory(name="Newsletter", slug="newsletter")
    SubscriptionList.objects.create(name="Monthly news", slug="monthly-news", purpose=news, min_level=3)
    contact = ContactFactory()
    client.get(urlparse(center_link(contact=contact)).path, secure=True)

    with CaptureQueriesContext(connection) as reads:
        page = client.get("/preferences/", secure=True)

    assert page.status_code == 200 and "Monthly news" in page.content.decode()
    statements = [query["sql"] for query in reads.captured_queries]
    assert sum("consent_compliancesettings" in sql for sql in statements) == 1
    # session, contact (with whether a request waits), purposes, lists, level wording, settings
    assert len(statements) == 6
