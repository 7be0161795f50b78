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
from tests.factories import SHIPPED_JOURNEYS

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


def test_seed_demo_is_idempotent_covers_every_level_and_fills_every_figure_and_queue(capsys):
    """A fresh `make run` shows every level, a trend, double opt-in figures, an import with its
    report, a journey that has sent, interactions and requests of every kind, open and answered; a
    second run adds none. (One test: each run of the seed costs seconds.)"""
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

    from dsr.models import DataSubjectRequest
    from imports.models import ImportRun
    from journeys.models import Interaction, StepRun
    from reports.dashboard import double_opt_in, level_trend

    trend = level_trend()
    assert len(trend) == 12 and all(sum(month["levels"]) > 0 for month in trend)
    assert trend[-1]["levels"] == [Contact.objects.filter(consent_given=lv).count() for lv in range(6)]
    figures = double_opt_in()
    assert figures["confirmed"] and figures["expired"] and figures["pending"] and figures["declined_lists"]
    assert figures["rate"] is not None and figures["median_minutes"] is not None

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.DONE and run.applied_rows > 0 and run.refused_rows >= 3

    draft, live = Journey.objects.get(name="Welcome series"), Journey.objects.get(name="Product news")
    assert (draft.status, draft.steps.count()) == ("draft", 4)
    assert journey_audience(draft).exists()
    assert live.status == "live"
    assert StepRun.objects.filter(enrolment__journey=live, status=StepRun.Status.DONE).exists()
    assert Segment.objects.exclude(name__in=SHIPPED_JOURNEYS).count() == 2
    tracked = Interaction.objects.values_list("contact__tracking_allowed", "contact__is_child")
    assert tracked and set(tracked) == {(True, False)}  # interactions only of tracking-allowed adults

    requests = DataSubjectRequest.objects
    for kind in DataSubjectRequest.Kind.values:
        assert requests.filter(kind=kind, closed_at__isnull=True).exists(), kind
        assert requests.filter(kind=kind, closed_at__isnull=False).exists(), kind


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
