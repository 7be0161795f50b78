"""Requests from staff about their logs, and deleting a staff account: logs stay, names go."""

import io
import json

import openpyxl
import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.urls import reverse

from consent.audit_chain import verify
from consent.models import ConsentChange, Source
from consent.services import consent_change
from dsr.models import DataSubjectRequest
from dsr.residue import Identity, residue_scan
from dsr.services import dsr_assign, dsr_create, dsr_verify
from dsr.staff_requests import staff_pseudonym
from staff.models import AccessLogEntry
from staff.roles import PRIVACY_OFFICER
from tests.conftest import _persona
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db
LOGS = reverse("staff-logs")


@pytest.fixture
def jane(roles, client_as, logging_on):
    """A privacy officer with a working life in the logs."""
    jane = _persona("jane.doe", PRIVACY_OFFICER)
    jane.first_name, jane.last_name, jane.email = "Jane", "Doerington", "jane.doe@corp.example"
    jane.save()
    contact = ContactFactory()
    client_as(jane).get(reverse("admin:contacts_contact_change", args=[contact.pk]))  # access log
    consent_change(contact=contact, level=2, source=Source.ADMIN, actor=jane, justification="phoned")
    request, _ = dsr_create(kind="access", email="someone@example.org", channel="letter")
    dsr_verify(request=request, actor=jane, how="letter")
    dsr_assign(requests=[request], assignee=jane, actor=jane)
    LogEntry.objects.log_actions(jane.pk, [contact], CHANGE, change_message="Changed first name")
    return jane


def test_an_officer_exports_everything_logged_about_a_member_of_staff(jane, privacy_officer, client_as):
    officer = client_as(privacy_officer)
    data = json.loads(officer.get(LOGS, {"user": jane.pk, "file_format": "json"}).content)
    assert data["account"] == "jane.doe"
    assert [e["action"] for e in data["access_log"]] == ["Viewed a contact"]
    assert [c["justification"] for c in data["consent_changes_made"]] == ["phoned"]
    assert {e["event"] for e in data["requests_handled"]} >= {
        "identity verified",
        f"assigned to user #{jane.pk}",
    }
    assert len(data["admin_log"]) == 1 and "factual record" in data["note"]

    xlsx = officer.get(LOGS, {"user": jane.pk, "file_format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Access log", "Admin log", "Consent changes made", "Requests handled"]
    assert book["Consent changes made"].max_row == 2  # header + the one change


def test_only_privacy_officers_may_export_staff_logs(jane, auditor, marketer, outsider, client_as, client):
    for user in (auditor, marketer, outsider):
        assert client_as(user).get(LOGS, {"user": jane.pk, "file_format": "json"}).status_code == 403
    assert client.get(LOGS).status_code == 302  # anonymous: to the login page


def test_a_staff_request_to_rectify_logs_is_answered_with_the_refusal(jane, privacy_officer, client_as):
    request, _ = dsr_create(kind="rectify", email="jane.doe@corp.example", channel="email")
    page = (
        client_as(privacy_officer).get(reverse("admin:dsr_datasubjectrequest_change", args=[request.pk])).text
    )
    assert "factual record" in page and f"{LOGS}?user={jane.pk}" in page


def test_deleting_a_staff_account_leaves_a_stable_pseudonym_and_no_name_in_any_table(jane, client_as):
    boss = UserFactory(username="root", is_superuser=True)
    entries_before = AccessLogEntry.objects.filter(user=jane).count()
    changes_before = ConsentChange.objects.filter(actor=jane).count()
    response = client_as(boss).post(
        reverse("admin:auth_user_delete", args=[jane.pk]), {"post": "yes"}, follow=True
    )
    assert response.status_code == 200

    account = get_user_model().objects.get(pk=jane.pk)  # the row stays: every log points at it
    pseudonym = staff_pseudonym(account)
    assert account.username == pseudonym and not account.is_active and not account.has_usable_password()
    assert AccessLogEntry.objects.filter(user=account).count() == entries_before  # still adds up
    assert ConsentChange.objects.filter(actor=account).count() == changes_before
    assert DataSubjectRequest.history.filter(history_user=account).exists()
    assert verify().ok  # the audit chain is untouched
    leftovers = residue_scan(
        [
            Identity(
                email="jane.doe@corp.example", first_name="Jane", last_name="Doerington", username="jane.doe"
            )
        ]
    )
    assert leftovers.clean, leftovers.hits
    assert client_as(boss).get(reverse("admin:auth_user_change", args=[jane.pk])).status_code == 200
