"""Data subject requests: intake, lifecycle, deadlines, the queue and discovery."""

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from consent.models import Source
from consent.services import consent_change
from dsr.clocks import add_months, working_day_from
from dsr.jurisdictions import law_of
from dsr.models import DataSubjectRequest
from dsr.services import Conflict, dsr_complete, dsr_create, dsr_decline, dsr_extend, dsr_start, dsr_verify
from staff.models import AccessLogEntry
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
Status = DataSubjectRequest.Status


def _month_after(moment):
    """GDPR Art. 12(3) with Regulation 1182/71 Art. 3(4): a month later, on a working day."""
    return working_day_from(add_months(timezone.localdate(moment), 1), law_of("gdpr"))


def test_a_request_is_due_in_one_month_and_links_every_contact_sharing_the_address():
    a, b = ContactFactory(email="holly@contoso.com"), ContactFactory(email="holly@contoso.com")
    request, created = dsr_create(kind="access", email="Holly@Contoso.com", channel="letter", name="Holly")
    assert created and request.status == Status.NEW and request.reference.startswith("DSR-")
    assert set(request.contacts.all()) == {a, b}
    # GDPR (the default jurisdiction): one calendar month of receipt, to the end of that day (or of
    # the next working day).
    assert timezone.localdate(request.due_at) == _month_after(request.received_at)
    assert timezone.localtime(request.due_at).time() == time(23, 59, 59)


def test_a_repeated_submission_joins_the_open_request_and_another_type_does_not():
    first, _ = dsr_create(kind="erase", email="a@example.org", channel="web", details="delete me")
    again, created = dsr_create(kind="erase", email="A@example.org", channel="web", details="please hurry")
    assert (again.pk, created) == (first.pk, False)
    assert "please hurry" in again.notes
    other, created = dsr_create(kind="access", email="a@example.org", channel="web")
    assert created and other.pk != first.pk


def test_the_lifecycle_needs_a_verified_identity_and_reasons(privacy_officer):
    request, _ = dsr_create(kind="access", email="a@example.org", channel="phone")
    with pytest.raises(ValidationError, match="Verify"):
        dsr_start(request=request, actor=privacy_officer)
    with pytest.raises(ValidationError):
        dsr_verify(request=request, actor=privacy_officer, how=" ")
    dsr_verify(request=request, actor=privacy_officer, how="called back on the number on file")
    started = dsr_start(request=request, actor=privacy_officer)
    assert (started.status, started.assignee) == (Status.IN_PROGRESS, privacy_officer)
    done = dsr_complete(request=request, actor=privacy_officer)
    assert done.status == Status.COMPLETED and done.closed_at
    with pytest.raises(ValidationError, match="closed"):
        dsr_decline(request=request, actor=privacy_officer, reason="too late")
    events = [h.history_change_reason for h in request.history.order_by("history_date")]
    assert events[-3:] == ["identity verified", "work started", "completed"]


def test_declining_needs_a_reason(privacy_officer):
    request, _ = dsr_create(kind="erase", email="a@example.org", channel="web")
    with pytest.raises(ValidationError, match="reason"):
        dsr_decline(request=request, actor=privacy_officer, reason="")
    declined = dsr_decline(
        request=request, actor=privacy_officer, reason="manifestly unfounded: third request this week"
    )
    assert declined.status == Status.DECLINED


def test_an_extension_needs_a_reason_and_ends_within_two_more_months(privacy_officer):
    request, _ = dsr_create(kind="export", email="a@example.org", channel="web")
    with pytest.raises(ValidationError):
        dsr_extend(
            request=request, actor=privacy_officer, until=request.due_at + timedelta(days=30), reason=""
        )
    with pytest.raises(ValidationError):
        dsr_extend(
            request=request,
            actor=privacy_officer,
            until=request.due_at + timedelta(days=90),
            reason="complex",
        )
    extended = dsr_extend(
        request=request, actor=privacy_officer, until=request.due_at + timedelta(days=45), reason="complex"
    )
    assert extended.deadline == request.due_at + timedelta(days=45) and extended.status == Status.EXTENDED


@pytest.mark.django_db(transaction=True)
def test_the_requester_is_told_of_an_extension_and_why(privacy_officer, smtp):
    request, _ = dsr_create(kind="export", email="a@example.org", channel="web")
    dsr_extend(
        request=request,
        actor=privacy_officer,
        until=request.due_at + timedelta(days=30),
        reason="records from three systems",
    )
    (body,) = smtp.bodies("a@example.org")
    assert request.reference in body and "records from three systems" in body
    assert (request.due_at + timedelta(days=30)).strftime("%Y") in body


def test_a_decision_on_a_request_that_changed_meanwhile_is_refused(privacy_officer):
    request, _ = dsr_create(kind="access", email="a@example.org", channel="web")
    dsr_verify(
        request=request, actor=privacy_officer, how="reply from the address", expected_status=Status.NEW
    )
    with pytest.raises(Conflict, match="changed meanwhile"):
        dsr_decline(request=request, actor=privacy_officer, reason="duplicate", expected_status=Status.NEW)
    request.refresh_from_db()
    assert request.status == Status.VERIFIED


# --- the admin queue --------------------------------------------------------------------------


QUEUE = reverse("admin:dsr_datasubjectrequest_changelist")


def test_the_queue_filters_overdue_and_due_this_week_and_assigns_in_bulk(client_as, privacy_officer):
    overdue, _ = dsr_create(kind="access", email="a@example.org", channel="web")
    soon, _ = dsr_create(kind="access", email="b@example.org", channel="web")
    later, _ = dsr_create(kind="access", email="c@example.org", channel="web")
    now = timezone.now()
    DataSubjectRequest.objects.filter(pk=overdue.pk).update(due_at=now - timedelta(days=1))
    DataSubjectRequest.objects.filter(pk=soon.pk).update(due_at=now + timedelta(days=3))
    client = client_as(privacy_officer)
    assert list(client.get(QUEUE, {"due": "overdue"}).context["cl"].result_list) == [overdue]
    assert list(client.get(QUEUE, {"due": "week"}).context["cl"].result_list) == [soon]
    assert "overdue" in client.get(QUEUE).content.decode()

    client.post(QUEUE, {"action": "assign_to_me", "_selected_action": [overdue.pk, soon.pk]})
    assert set(DataSubjectRequest.objects.filter(assignee=privacy_officer)) == {overdue, soon}
    assert later.assignee is None


def test_an_officer_enters_a_phone_request_and_decides_it_in_the_admin(client_as, privacy_officer):
    client = client_as(privacy_officer)
    response = client.post(
        reverse("admin:dsr_datasubjectrequest_add"),
        {
            "kind": "restrict",
            "requester_email": "caller@example.org",
            "requester_name": "Cal",
            "details": "stop all",
            "channel": "phone",
        },
    )
    assert response.status_code == 302
    request = DataSubjectRequest.objects.get()
    decide = reverse("admin:dsr_datasubjectrequest_decide", args=[request.pk])
    client.post(decide, {"action": "verify", "expected_status": "new", "how": "called back"})
    request.refresh_from_db()
    assert request.status == Status.VERIFIED and request.verification == "called back"
    page = client.post(decide, {"action": "decline", "expected_status": "new", "reason": "x"}, follow=True)
    assert "changed meanwhile" in page.content.decode()
    request.refresh_from_db()
    assert request.status == Status.VERIFIED


def test_discovery_finds_the_persons_data_everywhere_and_is_logged(client_as, privacy_officer, logging_on):
    holly = ContactFactory(email="holly@contoso.com")
    consent_change(contact=holly, level=3, source=Source.IMPORT)
    request, _ = dsr_create(kind="access", email="holly@contoso.com", channel="web")
    page = client_as(privacy_officer).get(reverse("admin:dsr_datasubjectrequest_discover", args=[request.pk]))
    found = {f.model: f.rows for f in page.context["findings"]}
    assert found["Contact"] == 1 and found["Consent change record"] == 1
    assert found["Contact (history)"] == 2  # created, then consent raised: both snapshots hold her data
    assert found["Data subject request"] == 1
    entry = AccessLogEntry.objects.get(action="discover")
    assert entry.user == privacy_officer and entry.contact_count == 1


def test_marketers_never_see_requests(client_as, marketer):
    dsr_create(kind="access", email="a@example.org", channel="web")
    assert client_as(marketer).get(QUEUE).status_code == 403


def test_the_deadline_counts_from_receipt_or_verification_as_the_settings_say(privacy_officer, client_as):
    from core.models import ComplianceSettings

    received = timezone.now() - timedelta(days=10)
    request, _ = dsr_create(kind="access", email="a@example.org", channel="letter")
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        received_at=received, due_at=received + timedelta(days=30)
    )
    request.refresh_from_db()
    verified = dsr_verify(request=request, actor=privacy_officer, how="letter with signature")
    assert verified.due_at == received + timedelta(days=30)  # default: from receipt

    settings = ComplianceSettings.load()
    settings.request_clock_starts_at = "verification"
    settings.save()
    other, _ = dsr_create(kind="erase", email="a@example.org", channel="letter")
    DataSubjectRequest.objects.filter(pk=other.pk).update(
        received_at=received, due_at=received + timedelta(days=30)
    )
    other.refresh_from_db()
    verified = dsr_verify(request=other, actor=privacy_officer, how="letter with signature")
    assert timezone.localdate(verified.due_at) == _month_after(verified.verified_at)
    page = (
        client_as(privacy_officer).get(reverse("admin:dsr_datasubjectrequest_change", args=[other.pk])).text
    )
    assert f"{_month_after(received):%Y-%m-%d} from receipt" in page
    assert f"{verified.due_at:%Y-%m-%d} from verification" in page


@pytest.mark.django_db
def test_a_number_that_may_not_link_links_nobody_rather_than_everybody():
    """A request by phone number whose number is kept but must not link (link_by_phone=False) and
    with no address has nothing to match: it links no contact (an empty condition matches all)."""
    ContactFactory(email="holly@contoso.com", phone="+4930123456")
    ContactFactory(email="ivan@contoso.com")
    request, _ = dsr_create(
        kind=DataSubjectRequest.Kind.ERASE,
        phone="+4930123456",
        link_by_phone=False,
        channel=DataSubjectRequest.Channel.PHONE,
    )
    assert list(request.contacts.all()) == []
