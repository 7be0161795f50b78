from datetime import timedelta

import pytest
from django.utils import timezone

from breaches.models import Breach
from breaches.services import breach_save
from subscriptions.models import SubscriptionList


@pytest.fixture
def make_breach(db):
    """A breach with every Art. 33(3) field filled, discovered `hours_ago` hours ago."""

    def make(*, hours_ago: float = 1, **fields) -> Breach:
        values = {
            "summary": "Laptop stolen",
            "discovered_at": timezone.now() - timedelta(hours=hours_ago),
            "nature": "Confidentiality: an unencrypted laptop was stolen.",
            "people_categories": "Newsletter readers",
            "people_count": 3,
            "data_categories": "Names and email addresses",
            "records_count": 3,
            "consequences": "Phishing email pretending to be from us.",
            "measures": "Laptops are now encrypted; the theft is reported to the police.",
            "dpo_contact": "Dana Dpo, dpo@example.org",
            "people_notice": "A laptop with your name and email address was stolen from our office.",
            **fields,
        }
        return breach_save(breach=Breach(**values))

    return make


@pytest.fixture
def news(db):
    return SubscriptionList.objects.create(name="News", slug="news")
