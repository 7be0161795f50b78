"""A request's page says what can be done next and what each step waits for; destructive steps
are red and confirmed on a page of their own; finishing the work offers to complete (issue 20)."""

import re

import pytest
from django.urls import reverse

from consent.models import Source
from consent.services import consent_change
from dsr.models import DataSubjectRequest
from dsr.next_steps import request_next_steps
from dsr.services import dsr_create, dsr_start, dsr_verify
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the bundle is built on commit
Status = DataSubjectRequest.Status


def _page(client, request) -> str:
    return client.get(reverse("admin:dsr_datasubjectrequest_change", args=[request.pk])).content.decode()


def _step(html: str, action: str) -> str:
    match = re.search(rf'<li class="(\w+)" data-step="{action}">(.*?)</li>', html, re.S)
    assert match, f"no step {action}"
    return match.group(1) + " " + " ".join(match.group(2).split())


def test_building_the_export_says_it_waits_for_identity_verification(client_as, privacy_officer):
    ContactFactory(email="holly@contoso.com")
    request, _ = dsr_create(kind="access", email="holly@contoso.com", channel="web")
    officer = client_as(privacy_officer)

    step = _step(_page(officer, request), "bundle")
    assert step.startswith("waiting") and "disabled" in step
    assert "Build the export bundle" in step and "waits for identity verification" in step

    dsr_verify(request=request, actor=privacy_officer, how="reply from the address")
    step = _step(_page(officer, request), "bundle")
    assert step.startswith("ready") and "disabled" not in step and "waits for" not in step


def test_each_step_says_what_it_waits_for(privacy_officer):
    request, _ = dsr_create(kind="erase", email="nobody@example.org", channel="web")
    steps = {s.action: s for s in request_next_steps(request)}
    assert steps["verify"].ready and steps["decline"].ready and steps["extend"].ready
    assert steps["erase"].waits_for == ("identity verification", "a linked contact (Discover data)")
    assert steps["erase"].destructive and steps["decline"].destructive
    assert steps["complete"].waits_for == ("identity verification",)
    assert (
        request_next_steps(
            dsr_start(
                request=dsr_verify(request=request, actor=privacy_officer, how="x"), actor=privacy_officer
            )
        )[0].action
        == "discover"
    )


def test_erase_and_decline_look_destructive(client_as, privacy_officer):
    ContactFactory(email="holly@contoso.com")
    request, _ = dsr_create(kind="erase", email="holly@contoso.com", channel="web")
    dsr_verify(request=request, actor=privacy_officer, how="reply from the address")
    html = _page(client_as(privacy_officer), request)
    assert 'class="danger-button" id="erase-link"' in html
    assert re.search(r'<button type="submit" form="decide-decline" class="danger-button">', html)
    assert "css/officer.css" in html  # where .danger-button is red


def test_declining_is_confirmed_on_a_page_of_its_own_first(client_as, privacy_officer):
    request, _ = dsr_create(kind="access", email="a@example.org", channel="web")
    decide = reverse("admin:dsr_datasubjectrequest_decide", args=[request.pk])
    officer = client_as(privacy_officer)

    asked = officer.post(
        decide, {"action": "decline", "expected_status": "new", "reason": "manifestly unfounded"}
    )
    assert asked.status_code == 200 and 'id="confirm-decline"' in asked.content.decode()
    assert "manifestly unfounded" in asked.content.decode()
    request.refresh_from_db()
    assert request.status == Status.NEW  # asking changes nothing

    officer.post(
        decide,
        {"action": "decline", "expected_status": "new", "reason": "manifestly unfounded", "confirmed": "yes"},
    )
    request.refresh_from_db()
    assert request.status == Status.DECLINED and request.decline_reason == "manifestly unfounded"


def test_declining_without_a_reason_is_refused_before_asking(client_as, privacy_officer):
    request, _ = dsr_create(kind="access", email="a@example.org", channel="web")
    decide = reverse("admin:dsr_datasubjectrequest_decide", args=[request.pk])
    page = client_as(privacy_officer).post(
        decide, {"action": "decline", "expected_status": "new", "reason": " "}, follow=True
    )
    assert "Declining needs a reason" in page.content.decode()
    request.refresh_from_db()
    assert request.status == Status.NEW


def test_an_auditor_sees_the_steps_without_controls(client_as, auditor, privacy_officer):
    request, _ = dsr_create(kind="access", email="a@example.org", channel="web")
    html = _page(client_as(auditor), request)
    assert "Build the export bundle" in html and 'form="decide-' not in html and "confirm-decline" not in html


def test_releasing_the_export_offers_to_complete_the_request(client_as, privacy_officer, smtp):
    holly = ContactFactory(email="holly@contoso.com")
    consent_change(contact=holly, level=3, source=Source.IMPORT)
    request, _ = dsr_create(kind="access", email="holly@contoso.com", channel="web")
    dsr_verify(request=request, actor=privacy_officer, how="reply from the address")
    officer = client_as(privacy_officer)
    assert 'id="complete-offer"' not in _page(officer, request)
    officer.post(reverse("admin:dsr_datasubjectrequest_bundle", args=[request.pk]))
    bundle = request.bundles.get()
    assert 'id="complete-offer"' not in _page(officer, request)  # the export is not out yet

    released = officer.post(
        reverse("admin:dsr_exportbundle_change", args=[bundle.pk]), {"action": "release"}, follow=True
    )
    html = released.content.decode()
    assert released.redirect_chain[-1][0] == reverse("admin:dsr_datasubjectrequest_change", args=[request.pk])
    assert 'id="complete-offer"' in html and "Complete the request now" in html
    assert 'form="decide-complete"' in html
    officer.post(
        reverse("admin:dsr_datasubjectrequest_decide", args=[request.pk]),
        {"action": "complete", "expected_status": "verified"},
    )
    request.refresh_from_db()
    assert request.status == Status.COMPLETED


def test_after_the_erasure_completing_is_offered_once_no_system_waits(privacy_officer):
    from dsr.models import ErasureRecord

    request, _ = dsr_create(kind="erase", email="a@example.org", channel="web")
    dsr_start(request=dsr_verify(request=request, actor=privacy_officer, how="x"), actor=privacy_officer)
    request.refresh_from_db()
    assert not {s.action: s for s in request_next_steps(request, waiting=[])}["complete"].offered
    ErasureRecord.objects.create(request=request, performed_by=privacy_officer, contacts_erased=1)

    waiting = {s.action: s for s in request_next_steps(request, waiting=["CRM"])}
    assert "erase" not in waiting and not waiting["complete"].offered
    assert waiting["complete"].waits_for == ("an acknowledgement from CRM",) and "waive" in waiting
    assert {s.action: s for s in request_next_steps(request, waiting=[])}["complete"].offered


def test_a_rectification_never_claims_its_work_is_done(privacy_officer):
    request, _ = dsr_create(kind="rectify", email="a@example.org", channel="web")
    dsr_verify(request=request, actor=privacy_officer, how="x")
    request.refresh_from_db()
    assert not any(s.offered for s in request_next_steps(request, waiting=[]))
