"""seed_demo: a populated back office, the same however often it runs."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db.models import Max
from django.test import Client

from consent.audit_chain import verify
from consent.models import ConsentChange, Purpose
from contacts.models import Contact
from demo.seed import DEMO_USERS
from journeys.models import Journey, Segment
from journeys.selectors import journey_audience

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # pytest-django turns it off; seed_demo runs only in development


def counts():
    return (
        Contact.objects.count(),
        Purpose.objects.count(),
        ConsentChange.objects.count(),
        Group.objects.count(),
    )


def test_seed_demo_is_idempotent_and_covers_every_level(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert first[0] == 200

    levels = set(Contact.objects.values_list("consent_given", flat=True))
    assert levels == {0, 1, 2, 3, 4, 5}
    children = Contact.objects.filter(is_child=True)
    assert children.exists() and not children.filter(guardian__isnull=True).exists()
    assert children.aggregate(top=Max("consent_given"))["top"] <= 4
    assert Contact.objects.filter(processing_restricted=True).count() >= 3
    effective = sorted(ConsentChange.objects.values_list("effective_at", flat=True))
    assert (effective[-1] - effective[0]).days > 120  # history spread over months
    assert verify().ok
    assert "officer" in capsys.readouterr().out


def test_demo_users_log_in_with_their_roles():
    call_command("seed_demo")
    for username, (role, password) in DEMO_USERS.items():
        client = Client()
        assert client.login(username=username, password=password)
        assert client.get("/admin/").status_code == 200
        assert Group.objects.get(name=role).user_set.filter(username=username).exists()


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not Contact.objects.exists()


def test_seed_demo_adds_one_segment_and_one_draft_journey_once():
    call_command("seed_demo")
    call_command("seed_demo")
    journey = Journey.objects.get()
    assert (journey.name, journey.status, journey.steps.count()) == ("Welcome series", "draft", 4)
    assert Segment.objects.count() == 1
    assert journey_audience(journey).exists()
