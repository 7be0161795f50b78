"""The Prometheus endpoint: refused without its token, and then the named series with the figures
the database holds now, labelled by views, tasks and states, never by anything personal."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dsr.models import DataSubjectRequest
from dsr.services import dsr_create
from operations.tasks import beat_heartbeat

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
