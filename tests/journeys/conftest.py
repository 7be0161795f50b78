"""The issue's scene: contacts in Germany who said yes to the newsletter, at Marketing."""

import pytest

from consent.models import Source
from consent.services import consent_change
from tests.factories import ContactFactory, PurposeFactory


@pytest.fixture
def newsletter(db):
    return PurposeFactory(slug="newsletter", name="Newsletter")


@pytest.fixture
def member(newsletter):
    """make a contact who belongs to the issue's segment: member(level=4, country="DE", ...)."""

    def make(level=4, newsletter_yes=True, country="DE", **fields):
        contact = ContactFactory(country=country, **fields)
        consent_change(
            contact=contact, level=level, purposes={newsletter: newsletter_yes}, source=Source.IMPORT
        )
        contact.refresh_from_db()
        return contact

    return make


@pytest.fixture
def eager_tasks():
    """Queued Celery tasks run in-process (the broker and a real worker are tested elsewhere)."""
    from config.celery import app

    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = False, False
