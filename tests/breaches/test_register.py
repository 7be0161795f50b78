"""The register's 72-hour clock (GDPR Art. 33(1)), the officers' reminders, and the reasons for a
late notification."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from breaches.clock import breach_clock
from breaches.models import Breach
from breaches.reminders import breach_reminders
from breaches.services import breach_save
from breaches.tasks import remind_deadlines

pytestmark = pytest.mark.django_db


def test_the_clock_runs_72_hours_from_discovery(make_breach):
    breach = make_breach(hours_ago=0)
    start = breach.discovered_at
    assert breach_clock(breach, now=start + timedelta(hours=10)).state == "running"
    at_48 = breach_clock(breach, now=start + timedelta(hours=48))
    assert (at_48.state, at_48.text) == ("due_soon", "24 h 00 min left")
    late = breach_clock(breach, now=start + timedelta(hours=73, minutes=30))
    assert (late.state, late.text) == ("overdue", "OVERDUE by 1 h 30 min")
    breach.authority_notified_at = start + timedelta(hours=70)
    assert breach_clock(breach).text == "Notified after 70 h 00 min (on time)"
    breach.authority_notified_at, breach.risk = None, Breach.Risk.UNLIKELY
    assert breach_clock(breach, now=start + timedelta(hours=100)).state == "not_required"


def test_officers_hear_once_at_48_hours_and_once_past_72(smtp, privacy_officer, marketer, make_breach):
    with time_machine.travel(timezone.now() - timedelta(hours=100), tick=False):
        breach = make_breach(hours_ago=0)
        make_breach(hours_ago=0, summary="Notified", authority_notified_at=timezone.now())
    start = breach.discovered_at
    with time_machine.travel(start + timedelta(hours=47), tick=False):
        assert breach_reminders() == 0
    with time_machine.travel(start + timedelta(hours=48, minutes=5), tick=False):
        assert breach_reminders() == 1
        assert remind_deadlines() == 0  # the next hourly beat: nobody hears twice
    (body,) = smtp.bodies(privacy_officer.email)
    assert breach.reference in body and "OVERDUE" not in body
    assert reverse("admin:breaches_breach_change", args=[breach.pk]) in body
    assert "Laptop stolen" not in body  # the reference and a link, not what happened
    with time_machine.travel(start + timedelta(hours=72, minutes=5), tick=False):
        assert breach_reminders() == 1
        assert breach_reminders() == 0
    assert "OVERDUE since" in smtp.bodies(privacy_officer.email)[1]
    assert smtp.bodies(marketer.email) == []
    assert len(smtp.messages) == 2  # the breach notified in time reminded nobody


def test_a_late_notification_needs_the_reasons_for_the_delay(make_breach):
    breach = make_breach(hours_ago=80)
    breach.authority_notified_at = timezone.now()
    with pytest.raises(ValidationError) as refused:
        breach_save(breach=breach)
    assert "reasons for the delay" in refused.value.message_dict["delay_reasons"][0]
    assert Breach.objects.get().authority_notified_at is None  # nothing saved
    breach.delay_reasons = "The forensic report arrived on day four."
    breach_save(breach=breach)
    assert Breach.objects.get().authority_notified_at is not None


def _form(breach: Breach, **changes) -> dict:
    local = {"discovered_at": timezone.localtime(breach.discovered_at)}
    data = {
        "summary": breach.summary,
        "discovered_at_0": local["discovered_at"].strftime("%Y-%m-%d"),
        "discovered_at_1": local["discovered_at"].strftime("%H:%M:%S"),
        "nature": breach.nature,
        "people_categories": breach.people_categories,
        "people_count": breach.people_count,
        "data_categories": breach.data_categories,
        "records_count": breach.records_count,
        "consequences": breach.consequences,
        "measures": breach.measures,
        "dpo_contact": breach.dpo_contact,
        "risk": breach.risk,
        "people_notice": breach.people_notice,
    }
    return {**data, **changes}


def test_the_admin_form_says_why_a_late_notification_is_refused(client_as, privacy_officer, make_breach):
    breach = make_breach(hours_ago=80)
    now = timezone.localtime()
    notified = {
        "authority_notified_at_0": now.strftime("%Y-%m-%d"),
        "authority_notified_at_1": now.strftime("%H:%M:%S"),
    }
    url = reverse("admin:breaches_breach_change", args=[breach.pk])
    page = client_as(privacy_officer).post(url, _form(breach, **notified))
    assert page.status_code == 200
    assert "give the reasons for the delay" in page.content.decode()
    breach.refresh_from_db()
    assert breach.authority_notified_at is None
    saved = client_as(privacy_officer).post(
        url, _form(breach, delay_reasons="Police asked us to wait.", **notified)
    )
    assert saved.status_code == 302
    breach.refresh_from_db()
    assert breach.authority_notified_at is not None
    # The register keeps each change (core.history, family "breaches").
    assert breach.history.count() == 2 and breach.history.first().delay_reasons == "Police asked us to wait."
    assert "72-hour clock" in client_as(privacy_officer).get(url).content.decode()
