"""Each request's law sets its clock: acknowledgement, answer, extension (dsr.jurisdictions, dsr.clocks)."""

from datetime import UTC, date, datetime
from urllib.parse import urlparse

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from dsr import intake
from dsr.models import DataSubjectRequest, RequestSubmission
from dsr.reminders import deadline_reminders
from dsr.services import dsr_create, dsr_extend, dsr_jurisdiction_change

pytestmark = pytest.mark.django_db


def _at(*args):
    return time_machine.travel(datetime(*args, 10, 0, tzinfo=UTC), tick=False)


def _received(year, month, day, jurisdiction="", email="holly@contoso.com"):
    with _at(year, month, day):
        request, _ = dsr_create(kind="access", email=email, channel="letter", jurisdiction=jurisdiction)
    return request


def _day(moment):
    return timezone.localdate(moment)


@pytest.mark.parametrize(("year", "due"), [(2025, date(2025, 2, 28)), (2028, date(2028, 2, 29))])
def test_a_gdpr_request_received_on_31_january_is_due_at_the_end_of_february(year, due):
    request = _received(year, 1, 31)
    assert request.jurisdiction == "gdpr"  # the default (DSR_DEFAULT_JURISDICTION)
    assert _day(request.due_at) == due


def test_a_gdpr_deadline_on_a_weekend_or_holiday_moves_to_the_next_working_day(settings):
    # Regulation 1182/71 Art. 3(4). 28 February 2026 is a Saturday: due Monday 2 March, and the
    # latest extension (Saturday 2 May) becomes Monday 4 May.
    request = _received(2026, 1, 31)
    assert _day(request.due_at) == date(2026, 3, 2)
    assert _day(request.clock.extension_latest) == date(2026, 5, 4)
    # Saturday 4 April 2026, then Easter Sunday and Easter Monday (a public holiday in Germany,
    # the default DSR_HOLIDAY_CALENDAR): due Tuesday 7 April.
    assert _day(_received(2026, 3, 4, email="ivy@contoso.com").due_at) == date(2026, 4, 7)
    # Another controller's calendar: 4 May 2026 is a working day in Germany, a bank holiday in the UK.
    uk = _received(2026, 4, 2, jurisdiction="uk_gdpr", email="una@contoso.co.uk")
    eu = _received(2026, 4, 2, email="eva@contoso.com")
    assert (_day(uk.due_at), _day(eu.due_at)) == (date(2026, 5, 5), date(2026, 5, 4))
    settings.DSR_HOLIDAY_CALENDAR = "GB"
    assert _day(_received(2026, 4, 2, email="gus@contoso.com").due_at) == date(2026, 5, 5)


def test_an_unknown_holiday_calendar_fails_the_system_check(settings):
    from dsr.checks import check_jurisdictions

    settings.DSR_HOLIDAY_CALENDAR = "DE-XX"
    assert [e.id for e in check_jurisdictions()] == ["dsr.E012"]


def test_a_gdpr_extension_announced_after_the_first_month_is_refused(privacy_officer):
    late, in_time = _received(2025, 1, 31), _received(2025, 1, 31, email="ivy@contoso.com")
    with _at(2025, 3, 1), pytest.raises(ValidationError, match=r"Too late to extend.*2025-02-28"):
        dsr_extend(
            request=late, actor=privacy_officer, until=datetime(2026, 4, 15, tzinfo=UTC), reason="archives"
        )
    late.refresh_from_db()
    assert late.extended_until is None and late.status == DataSubjectRequest.Status.NEW

    with _at(2025, 2, 28):
        with pytest.raises(ValidationError, match="by 2025-04-28"):  # two further months at most
            dsr_extend(
                request=in_time, actor=privacy_officer, until=datetime(2025, 4, 30, tzinfo=UTC), reason="x"
            )
        dsr_extend(
            request=in_time, actor=privacy_officer, until=datetime(2025, 4, 28, tzinfo=UTC), reason="archives"
        )
    in_time.refresh_from_db()
    assert in_time.status == DataSubjectRequest.Status.EXTENDED and _day(in_time.deadline) == date(
        2025, 4, 28
    )


def test_a_ccpa_request_is_acknowledged_within_10_business_days_across_a_holiday_and_due_in_45_days(
    client_as, privacy_officer
):
    # Thursday 2 July 2026; Friday 3 July is Independence Day observed, then two weekends.
    request = _received(2026, 7, 2, jurisdiction="ccpa")
    clock = request.clock
    assert _day(clock.acknowledge_by) == date(2026, 7, 17)  # 16 July without the holiday
    assert _day(request.due_at) == date(2026, 8, 16)
    assert _day(clock.extension_latest) == date(2026, 9, 30)  # one further 45 days

    with _at(2026, 7, 10):
        page = client_as(privacy_officer).get(
            reverse("admin:dsr_datasubjectrequest_change", args=[request.pk])
        )
    assert "CCPA/CPRA (California)" in page.text
    assert "2026-07-17" in page.text and "2026-08-16" in page.text


def test_an_lgpd_request_is_due_in_15_days_and_cannot_be_extended(privacy_officer):
    request = _received(2026, 3, 10, jurisdiction="lgpd")
    assert _day(request.due_at) == date(2026, 3, 25)
    assert request.clock.acknowledge_by is None
    with _at(2026, 3, 12), pytest.raises(ValidationError, match=r"LGPD .* allows no extension"):
        dsr_extend(request=request, actor=privacy_officer, until=datetime(2026, 4, 1, tzinfo=UTC), reason="x")


def test_reminders_and_overdue_marking_follow_each_requests_law(smtp, privacy_officer):
    brazil = _received(2026, 3, 10, jurisdiction="lgpd", email="bia@example.org")
    europe = _received(2026, 3, 10, email="eva@example.org")
    with _at(2026, 3, 27):
        deadline_reminders()
    brazil.refresh_from_db()
    europe.refresh_from_db()
    assert brazil.overdue_since == date(2026, 3, 27) and europe.overdue_since is None
    (body,) = smtp.bodies(privacy_officer.email)
    assert brazil.reference in body and europe.reference not in body  # Europe's is due 10 April


def test_an_unknown_jurisdiction_is_refused_and_nothing_is_stored():
    with pytest.raises(ValidationError, match="Unknown jurisdiction"):
        dsr_create(kind="access", email="a@example.org", channel="letter", jurisdiction="mars")
    assert not DataSubjectRequest.objects.exists()


def test_the_default_jurisdiction_is_a_setting(settings):
    settings.DSR_DEFAULT_JURISDICTION = "lgpd"
    request = _received(2026, 3, 10)
    assert request.jurisdiction == "lgpd" and _day(request.due_at) == date(2026, 3, 25)


FORM = reverse("dsr:request")


def test_the_public_form_offers_only_the_rights_of_the_requesters_law(client):
    everywhere = client.get(FORM).text
    california = client.get(FORM, {"country": "US"}).text
    brazil = client.get(FORM, {"country": "BR"}).text
    assert "Stop processing my data" in everywhere and "Stop processing my data" in brazil
    assert "Stop processing my data" not in california and "Erase my data" in california
    assert "CCPA/CPRA" in california and "45 days" in california
    assert "LGPD" in brazil and "15 days" in brazil

    refused = client.post(FORM, {"country": "US", "kind": "restrict", "email": "cal@example.org"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.text
    assert not RequestSubmission.objects.exists()


def test_a_request_from_the_form_carries_its_countrys_law_into_the_queue(client):
    with _at(2026, 3, 10):
        client.post(FORM, {"country": "BR", "kind": "erase", "email": "bia@example.org"})
        submission = RequestSubmission.objects.get()
        assert submission.jurisdiction == "lgpd"
        token = urlparse(intake.submission_link(submission)).path.rstrip("/").rsplit("/", 1)[-1]
        outcome = intake.submission_confirm(link=token)
    assert outcome.request.jurisdiction == "lgpd" and _day(outcome.request.due_at) == date(2026, 3, 25)


def test_an_officer_changing_the_jurisdiction_recomputes_the_deadline_and_it_is_recorded(
    client_as, privacy_officer
):
    request = _received(2026, 3, 10)
    assert _day(request.due_at) == date(2026, 4, 10)
    decide = reverse("admin:dsr_datasubjectrequest_decide", args=[request.pk])
    with _at(2026, 3, 11):
        client_as(privacy_officer).post(
            decide, {"action": "jurisdiction", "jurisdiction": "lgpd", "expected_status": "new"}
        )
    request.refresh_from_db()
    assert request.jurisdiction == "lgpd" and _day(request.due_at) == date(2026, 3, 25)
    last = request.history.first()
    assert last.history_user == privacy_officer
    assert last.history_change_reason == "jurisdiction gdpr -> lgpd; due 2026-03-25"


def test_a_jurisdiction_without_the_right_asked_for_is_refused(privacy_officer):
    request, _ = dsr_create(kind="restrict", email="a@example.org", channel="letter")
    due = request.due_at
    with pytest.raises(ValidationError, match="gives no right of this type"):
        dsr_jurisdiction_change(request=request, actor=privacy_officer, jurisdiction="ccpa")
    request.refresh_from_db()
    assert (request.jurisdiction, request.due_at) == ("gdpr", due)


def test_only_an_officer_may_change_the_jurisdiction(client_as, marketer, outsider):
    request = _received(2026, 3, 10)
    decide = reverse("admin:dsr_datasubjectrequest_decide", args=[request.pk])
    for user in (marketer, outsider):
        response = client_as(user).post(
            decide, {"action": "jurisdiction", "jurisdiction": "lgpd", "expected_status": "new"}
        )
        assert response.status_code in (302, 403)
    request.refresh_from_db()
    assert request.jurisdiction == "gdpr"


def test_the_extend_step_is_offered_only_while_the_law_allows_it():
    from dsr.next_steps import request_next_steps

    europe, brazil = (
        _received(2025, 1, 31),
        _received(2025, 1, 31, jurisdiction="lgpd", email="bia@example.org"),
    )
    with _at(2025, 2, 20):
        assert "extend" in {s.action for s in request_next_steps(europe)}
        assert "extend" not in {s.action for s in request_next_steps(brazil)}  # LGPD: none
    with _at(2025, 3, 1):
        assert "extend" not in {s.action for s in request_next_steps(europe)}  # too late to announce


def test_an_unknown_default_jurisdiction_fails_the_system_check(settings):
    from dsr.checks import check_jurisdictions

    assert check_jurisdictions() == []
    settings.DSR_DEFAULT_JURISDICTION = "mars"
    assert [e.id for e in check_jurisdictions()] == ["dsr.E010"]
