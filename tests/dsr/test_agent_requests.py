"""Requests by an authorised agent (CCPA Regulations § 7063): proof uploaded, the person confirms."""

from urllib.parse import urlparse

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dsr.models import AgentAuthority, DataSubjectRequest
from dsr.services import dsr_start, dsr_verify
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
FORM = reverse("dsr:request")
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def _submit(client, proof, **extra):
    data = {
        "country": "US",
        "kind": "access",
        "email": "holly@contoso.com",
        "agent": "on",
        "agent_name": "Agent Smith LLP",
        "agent_email": "smith@agents.example",
        "proof": proof,
        **extra,
    }
    return client.post(FORM, data)


def _media_files(settings):
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_agent_request_waits_for_the_person_to_confirm(
    client, smtp, settings, privacy_officer, client_as, django_capture_on_commit_callbacks
):
    holly = ContactFactory(email="holly@contoso.com")
    assert "authorised agent" in client.get(FORM, {"country": "US"}).text
    with django_capture_on_commit_callbacks(execute=True):
        page = _submit(client, SimpleUploadedFile("permission.pdf", PDF, "application/pdf"))
    assert page.status_code == 200 and "once they confirm" in page.text

    request = DataSubjectRequest.objects.get()
    authority = request.agent
    assert list(request.contacts.all()) == [holly] and request.verified_at is None
    assert authority.state == AgentAuthority.State.PENDING and authority.proof_name == "permission.pdf"
    assert authority.proof.read() == PDF and authority.proof.name.endswith(".pdf")
    # It does not proceed: an officer can neither verify nor start it before the person answers.
    for step in (
        lambda: dsr_verify(request=request, actor=None, how="phoned"),
        lambda: dsr_start(request=request, actor=None),
    ):
        with pytest.raises(ValidationError):
            step()
    queue = client_as(privacy_officer).get(reverse("admin:dsr_datasubjectrequest_changelist")).text
    assert (
        "Waiting for the person&#x27;s confirmation" in queue
        or "Waiting for the person's confirmation" in queue
    )
    detail = (
        client_as(privacy_officer).get(reverse("admin:dsr_datasubjectrequest_change", args=[request.pk])).text
    )
    assert "Agent Smith LLP" in detail and "permission.pdf" in detail
    proof = client_as(privacy_officer).get(
        reverse("admin:dsr_datasubjectrequest_agent_proof", args=[request.pk])
    )
    assert b"".join(proof.streaming_content) == PDF

    (body,) = smtp.bodies("holly@contoso.com")
    assert "Agent Smith LLP" in body
    (link,) = [urlparse(u).path for u in smtp.links("holly@contoso.com") if "/requests/agent/" in u]
    assert "Did you give them permission" in client.get(link).text
    request.refresh_from_db()
    assert request.verified_at is None  # a mail scanner's GET answers nothing

    assert "we go on with the request" in client.post(link, {"answer": "yes"}).text
    request.refresh_from_db()
    assert request.status == DataSubjectRequest.Status.VERIFIED and "Agent Smith LLP" in request.verification
    again = client.post(link, {"answer": "no"})  # single use: the first answer stands
    request.refresh_from_db()
    assert request.status == DataSubjectRequest.Status.VERIFIED and "we go on" in again.text


@pytest.mark.parametrize(
    "proof, error",
    [
        (
            SimpleUploadedFile("permission.pdf", b"<html>not a pdf</html>", "application/pdf"),
            "must be a PDF, PNG or JPEG",
        ),
        (SimpleUploadedFile("big.pdf", PDF + b"0" * (5 * 1024 * 1024), "application/pdf"), "at most 5 MB"),
        (None, "Upload the proof"),
    ],
)
def test_a_bad_proof_is_refused_with_a_clear_error_and_nothing_is_created(client, settings, proof, error):
    page = _submit(client, proof) if proof is not None else _submit(client, "")
    assert page.status_code == 200 and error in page.text
    assert not DataSubjectRequest.objects.exists() and not AgentAuthority.objects.exists()
    assert _media_files(settings) == []


def test_the_person_saying_no_declines_the_request(client, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _submit(client, SimpleUploadedFile("p.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32, "image/png"))
    (link,) = [urlparse(u).path for u in smtp.links("holly@contoso.com") if "/requests/agent/" in u]
    client.post(link, {"answer": "no"})
    request = DataSubjectRequest.objects.get()
    assert request.status == DataSubjectRequest.Status.DECLINED and request.agent.state == "denied"


def test_an_erasure_takes_the_agent_and_the_proof_with_it(
    client, smtp, settings, privacy_officer, django_capture_on_commit_callbacks
):
    from dsr import agents
    from dsr.residue_queue import residue_scans_run
    from dsr.services import dsr_erase

    ContactFactory(email="holly@contoso.com", first_name="Holly")
    proof = SimpleUploadedFile("p.pdf", PDF + b"Holly holly@contoso.com", "application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        _submit(client, proof, kind="erase")
    authority = AgentAuthority.objects.get()
    agents.agent_answer(link=urlparse(agents.agent_link(authority)).path.split("/")[-2], confirmed=True)
    with django_capture_on_commit_callbacks(execute=True):
        record = dsr_erase(request=DataSubjectRequest.objects.get(), actor=privacy_officer)
    residue_scans_run()  # the worker's part
    record.refresh_from_db()
    assert not AgentAuthority.objects.exists() and _media_files(settings) == []
    assert record.residue_clean, record.residue


def test_an_agent_request_for_an_open_request_keeps_nothing_of_the_agent(client, smtp, settings):
    from dsr.services import dsr_create

    dsr_create(kind="access", channel="web", email="holly@contoso.com")
    page = _submit(client, SimpleUploadedFile("p.pdf", PDF, "application/pdf"))
    assert page.status_code == 200 and DataSubjectRequest.objects.count() == 1
    assert not AgentAuthority.objects.exists() and _media_files(settings) == []
