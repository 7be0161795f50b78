"""Request details reach the assignee (issue 25, scope 6): the requester's comment and a link to
each linked contact on the request's page, in the queue's preview, in the assignment email and in
the deadline reminder, over real SMTP, with no personal data in any subject line."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from dsr.assignee_mail import assignment_send
from dsr.models import DataSubjectRequest
from dsr.reminders import deadline_reminders
from dsr.services import dsr_assign, dsr_create
from staff.roles import PRIVACY_OFFICER
from tests.conftest import _persona
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

COMMENT = "My address changed to Elm Street 5, 10115 Berlin. Please correct it everywhere."
QUEUE = reverse("admin:dsr_datasubjectrequest_changelist")
PERSONAL = ("Holly", "Hart", "holly@contoso.com", "Elm Street")


@pytest.fixture
def holly():
    return ContactFactory(first_name="Holly", last_name="Hart", email="holly@contoso.com")


@pytest.fixture
def request_(holly):
    request, _ = dsr_create(
        kind="rectify", email="holly@contoso.com", name="Holly Hart", details=COMMENT, channel="web"
    )
    return request


@pytest.fixture
def colleague(roles):
    return _persona("olivia", PRIVACY_OFFICER)


def contact_path(contact) -> str:
    return reverse("admin:contacts_contact_change", args=[contact.pk])


def assert_no_personal_data(subject: str) -> None:
    for words in PERSONAL:
        assert words not in subject, subject


def test_the_request_page_shows_the_comment_and_links_each_contact(
    client_as, privacy_officer, request_, holly
):
    page = client_as(privacy_officer).get(reverse("admin:dsr_datasubjectrequest_change", args=[request_.pk]))
    text = page.content.decode()
    assert COMMENT in text
    assert f'href="{contact_path(holly)}"' in text


def test_the_queue_previews_the_comment_and_links_each_contact(client_as, privacy_officer, request_, holly):
    text = client_as(privacy_officer).get(QUEUE).content.decode()
    assert 'class="request-preview"' in text
    assert COMMENT in text
    assert f'href="{contact_path(holly)}"' in text
    assert "holly@contoso.com" not in text  # the address stays on the request's page


def test_assigning_a_colleague_emails_them_the_comment_and_contact_link(
    smtp, client_as, privacy_officer, colleague, request_, holly, django_capture_on_commit_callbacks
):
    change = reverse("admin:dsr_datasubjectrequest_change", args=[request_.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(privacy_officer).post(change, {"assignee": colleague.pk, "notes": ""})
    assert response.status_code == 302

    (message,) = smtp.messages
    assert message["To"] == colleague.email
    assert request_.reference in message["Subject"]
    assert_no_personal_data(str(message["Subject"]))
    (body,) = smtp.bodies(colleague.email)
    assert COMMENT in body
    assert f"{settings.PUBLIC_BASE_URL}{contact_path(holly)}" in body
    assert f"{settings.PUBLIC_BASE_URL}{change}" in body
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f'href="{settings.PUBLIC_BASE_URL}{contact_path(holly)}"' in html


def test_the_service_emails_the_new_assignee_once(
    smtp, privacy_officer, colleague, request_, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert dsr_assign(requests=[request_], assignee=colleague, actor=privacy_officer) == 1
        assert dsr_assign(requests=[request_], assignee=colleague, actor=privacy_officer) == 1  # unchanged
    assert [m["To"] for m in smtp.messages] == [colleague.email]


def test_taking_a_request_yourself_sends_no_email(
    smtp, client_as, privacy_officer, request_, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_as(privacy_officer).post(QUEUE, {"action": "assign_to_me", "_selected_action": [request_.pk]})
    assert DataSubjectRequest.objects.get(pk=request_.pk).assignee == privacy_officer
    assert smtp.messages == []


def test_a_request_reassigned_before_the_email_leaves_is_not_sent_to_the_former_assignee(
    smtp_server, privacy_officer, colleague, request_
):
    DataSubjectRequest.objects.filter(pk=request_.pk).update(assignee=privacy_officer)
    assert assignment_send(request_id=request_.pk, assignee_id=colleague.pk) is False
    assert smtp_server.messages == []


def test_the_reminder_carries_the_comment_and_contact_link_without_personal_data_in_the_subject(
    smtp, privacy_officer, colleague, request_, holly
):
    DataSubjectRequest.objects.filter(pk=request_.pk).update(
        assignee=colleague, due_at=timezone.now() + timedelta(days=2)
    )
    assert deadline_reminders() == 1
    (message,) = smtp.messages
    assert_no_personal_data(str(message["Subject"]))
    (body,) = smtp.bodies(colleague.email)
    assert COMMENT in body and f"{settings.PUBLIC_BASE_URL}{contact_path(holly)}" in body
