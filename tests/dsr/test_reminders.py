"""Deadline reminders: due-soon and overdue requests reach a person once per request per day."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dsr.models import DataSubjectRequest
from dsr.reminders import deadline_reminders
from dsr.services import dsr_complete, dsr_create, dsr_start, dsr_verify
from dsr.tasks import remind_deadlines

pytestmark = pytest.mark.django_db


def _request(email, *, due_in_days, assignee=None):
    request, _ = dsr_create(kind="access", email=email, channel="letter")
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        due_at=timezone.now() + timedelta(days=due_in_days), assignee=assignee
    )
    request.refresh_from_db()
    return request


def test_an_assignee_hears_once_a_day_about_due_and_overdue_requests(smtp, privacy_officer):
    overdue = _request("late@example.org", due_in_days=-2, assignee=privacy_officer)
    soon = _request("soon@example.org", due_in_days=3, assignee=privacy_officer)
    _request("later@example.org", due_in_days=20, assignee=privacy_officer)

    assert deadline_reminders() == 1
    (body,) = smtp.bodies(privacy_officer.email)
    assert overdue.reference in body and soon.reference in body and "OVERDUE" in body
    assert body.index(overdue.reference) < body.index(soon.reference)  # most urgent first
    assert f"/admin/dsr/datasubjectrequest/{overdue.pk}/change/" in body
    assert "late@example.org" not in body  # the email names the request, not the person

    overdue.refresh_from_db()
    soon.refresh_from_db()
    assert overdue.overdue_since == timezone.localdate() and soon.overdue_since is None

    assert remind_deadlines() == 0  # the beat fires again the same day: nobody hears twice
    assert len(smtp.messages) == 1
    assert deadline_reminders(now=timezone.now() + timedelta(days=1)) == 1  # next day: again
    assert len(smtp.messages) == 2


def test_unassigned_requests_go_to_every_privacy_officer_and_closed_ones_to_nobody(
    smtp, privacy_officer, marketer
):
    from staff.roles import PRIVACY_OFFICER
    from tests.conftest import _persona

    second = _persona("officer2", PRIVACY_OFFICER)
    waiting = _request("a@example.org", due_in_days=1)
    done = _request("b@example.org", due_in_days=-1, assignee=privacy_officer)
    dsr_verify(request=done, actor=privacy_officer, how="signed letter")
    dsr_start(request=done, actor=privacy_officer)
    dsr_complete(request=done, actor=privacy_officer)

    assert deadline_reminders() == 2
    assert sorted(m["To"] for m in smtp.messages) == sorted([privacy_officer.email, second.email])
    assert all(waiting.reference in body and done.reference not in body for body in smtp.bodies())
    assert smtp.bodies(marketer.email) == []
    done.refresh_from_db()
    assert done.overdue_since is None  # a completed request is not marked overdue


def test_an_extension_moves_the_deadline_the_reminder_uses(smtp, privacy_officer):
    request = _request("a@example.org", due_in_days=-1, assignee=privacy_officer)
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        extended_until=timezone.now() + timedelta(days=40), status=DataSubjectRequest.Status.EXTENDED
    )
    assert deadline_reminders() == 0
    request.refresh_from_db()
    assert request.overdue_since is None
