"""A request opened through the API may name its law; the clock follows it (dsr.clocks)."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.utils import timezone

from dsr.models import DataSubjectRequest

pytestmark = pytest.mark.django_db


def _open(api, **body):
    return api.post(
        "/api/v1/requests/",
        {"kind": "access", "requester_email": "cal@example.org", **body},
        content_type="application/json",
    )


def test_a_request_opened_under_the_ccpa_is_due_in_45_days(api_as, privacy_officer):
    with time_machine.travel(datetime(2026, 7, 2, 10, tzinfo=UTC), tick=False):
        response = _open(api_as(privacy_officer), jurisdiction="ccpa")
    assert response.status_code == 201 and response.json()["jurisdiction"] == "ccpa"
    request = DataSubjectRequest.objects.get()
    assert timezone.localdate(request.due_at) == date(2026, 8, 16)


def test_an_unknown_law_is_a_400_and_nothing_is_opened(api_as, privacy_officer):
    response = _open(api_as(privacy_officer), jurisdiction="mars")
    assert response.status_code == 400 and "jurisdiction" in response.json()
    assert not DataSubjectRequest.objects.exists()
