"""The Prometheus endpoint: refused without its token, and then the named series with the figures
the database holds now, labelled by views, tasks and states, never by anything personal."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentChange, Source
from consent.services import consent_change
from dsr.models import DataSubjectRequest
from dsr.services import dsr_create
from operations.tasks import beat_heartbeat
from tests.factories import ContactFactory
from tests.tamper import tamper

TOKEN = "scrape-token-0123456789abcdef"


def scrape(client, token=TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(reverse("operations:metrics"), **headers)


def test_without_a_configured_token_there_is_no_endpoint(client, settings):
    settings.METRICS_TOKEN = ""
    assert scrape(client).status_code == 404


@pytest.mark.django_db
def test_a_scrape_needs_the_token(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert scrape(client, token=None).status_code == 401
    refused = scrape(client, token=TOKEN[:-1] + "x")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_a_scrape_shows_requests_jobs_deadlines_and_queues_without_personal_data(client, settings):
    settings.METRICS_TOKEN = TOKEN
    late, _ = dsr_create(kind="erase", email="late.requester@example.org", channel="email")
    DataSubjectRequest.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=2))
    dsr_create(kind="access", email="soon.requester@example.org", channel="email")
    client.get(reverse("operations:live"))
    beat_heartbeat.apply()
    beat_heartbeat.apply(args=["unexpected"])  # a job that fails

    response = scrape(client)
    assert response.status_code == 200
    text = response.content.decode()
    series = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[:1] != "#"
    }
    assert series['consent_office_data_subject_requests{state="open"}'] == 2
    assert series['consent_office_data_subject_requests{state="overdue"}'] == 1
    assert series['consent_office_data_subject_requests{state="due_this_week"}'] == 0
    assert series['consent_office_double_opt_in_requests{outcome="pending"}'] == 0
    assert series['consent_office_jobs{kind="import",status="failed"}'] == 0
    assert 'consent_office_queue_messages{queue="celery"}' in series
    live = 'consent_office_request_duration_seconds_count{method="GET",status="200",view="operations:live"}'
    assert series[live] >= 1
    assert series['consent_office_task_failures_total{task="operations.beat_heartbeat"}'] >= 1
    assert (
        series['consent_office_task_duration_seconds_count{state="SUCCESS",task="operations.beat_heartbeat"}']
        >= 1
    )
    assert "requester" not in text and "@" not in text


def _figure(text: str, name: str) -> float:
    return float(text.split(f"\n{name} ")[1].split()[0])


@pytest.mark.django_db
def test_a_scrape_tells_when_the_audit_trail_was_last_verified_clean(client, settings, logging_on):
    settings.METRICS_TOKEN = TOKEN
    assert "audit_trail" not in scrape(client).content.decode()  # never verified: no figure
    consent_change(contact=ContactFactory(), level=2, source=Source.IMPORT)
    before = timezone.now().timestamp()
    call_command("verify_audit_trail")
    text = scrape(client).content.decode()
    assert _figure(text, "consent_office_audit_trail_last_verification_ok") == 1
    clean = _figure(text, "consent_office_audit_trail_last_verified_clean_timestamp_seconds")
    assert clean >= before - 1

    tamper("UPDATE consent_consentchange SET new_value = '4' WHERE id = %s", [ConsentChange.objects.get().pk])
    with pytest.raises(CommandError):
        call_command("verify_audit_trail")
    text = scrape(client).content.decode()
    assert _figure(text, "consent_office_audit_trail_last_verification_ok") == 0
    assert _figure(text, "consent_office_audit_trail_last_verified_clean_timestamp_seconds") == clean
