"""Two people or two workers at once: no lost update, nothing applied twice.

Threads get their own database connections, so these are real parallel transactions.
"""

from itertools import pairwise
from urllib.parse import urlparse

import pytest
from django.test import Client

from consent.models import ConsentChange, Source
from consent.services import consent_change
from subscriptions.services import RequestMeta, consent_request_create
from tests.conftest import run_together
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_simultaneous_consent_changes_to_one_contact_chain_without_a_lost_update(logging_on):
    contact = ContactFactory()
    levels = [1, 2, 3, 4, 5, 1, 2, 3]

    def change(level):
        return lambda: consent_change(contact=contact, level=level, source=Source.IMPORT)

    run_together(*(change(level) for level in levels))
    trail = list(ConsentChange.objects.filter(contact=contact).order_by("id"))
    assert trail[0].old_value == "0"
    for earlier, later in pairwise(trail):
        assert later.old_value == earlier.new_value  # each writer saw the one before it
    contact.refresh_from_db()
    assert str(contact.consent_given) == trail[-1].new_value


def test_a_confirmation_link_clicked_twice_at_once_applies_once(logging_on, smtp):
    contact = ContactFactory()
    consent_request_create(contact=contact, changes={"level": 4}, origin="center", meta=RequestMeta())
    link = urlparse(smtp.links()[0]).path

    def click():
        response = Client().post(link, {"action": "confirm"})
        return response.status_code, "Already confirmed" in response.content.decode()

    # One click confirms, the other is told it was confirmed already (the link's row lock; without
    # it both would say "confirmed" and write the confirmation twice).
    assert sorted(run_together(click, click)) == [(200, False), (200, True)]
    assert ConsentChange.objects.filter(contact=contact, source=Source.DOUBLE_OPT_IN).count() == 1
    contact.refresh_from_db()
    assert contact.consent_given == 4


def test_two_officers_deciding_one_request_at_once_one_wins_and_the_other_gets_a_conflict(privacy_officer):
    from django.core.exceptions import ValidationError

    from dsr.models import DataSubjectRequest
    from dsr.services import Conflict, dsr_create, dsr_decline, dsr_verify

    request, _ = dsr_create(kind="access", email="a@example.org", channel="web")
    outcomes = []

    def decide(service, **kwargs):
        def run():
            try:
                service(request=request, actor=privacy_officer, expected_status="new", **kwargs)
                outcomes.append("won")
            except Conflict:
                outcomes.append("conflict")
            except ValidationError:
                outcomes.append("other")

        return run

    run_together(decide(dsr_verify, how="called back"), decide(dsr_decline, reason="duplicate"))
    assert sorted(outcomes) == ["conflict", "won"]
    assert DataSubjectRequest.objects.get().status in {"verified", "declined"}
