"""The compliance report: opens in Excel and holds the period's facts, the chain head and Art. 30."""

import io
from datetime import timedelta

import openpyxl
import pytest
from django.utils import timezone

from consent.audit_chain import verify
from consent.models import ConsentChange, Source
from consent.services import consent_change
from dsr.erasure import contacts_erase
from dsr.models import DataSubjectRequest
from dsr.residue_queue import residue_scans_run
from dsr.services import dsr_complete, dsr_create, dsr_start, dsr_verify
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db
URL = "/admin/dashboard/report/"


def _sheet(book, name):
    rows = list(book[name].iter_rows(values_only=True))
    return rows[0], rows[1:]


@pytest.fixture
def period_facts(logging_on, privacy_officer, django_capture_on_commit_callbacks):
    news = PurposeFactory(
        name="Newsletter",
        legal_basis="consent",
        data_categories="name, email address",
        retention="until withdrawn",
        recipients="mail provider (processor)",
    )
    a, b = ContactFactory(), ContactFactory(first_name="Erin", last_name="Erased", email="erin@example.org")
    consent_change(contact=a, level=3, purposes={news: True}, source=Source.IMPORT)
    consent_change(contact=b, level=3, source=Source.IMPORT)
    consent_change(contact=a, level=2, source=Source.ADMIN, actor=privacy_officer, justification="phone")
    late, _ = dsr_create(kind="access", email="late@example.org", channel="letter")
    DataSubjectRequest.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=1))
    on_time, _ = dsr_create(kind="access", email="ok@example.org", channel="web")
    dsr_verify(request=on_time, actor=privacy_officer, how="reply")
    dsr_start(request=on_time, actor=privacy_officer)
    dsr_complete(request=on_time, actor=privacy_officer)
    with django_capture_on_commit_callbacks(execute=True):  # the residue scan is queued on commit
        contacts_erase(contacts=[b], actor=privacy_officer)
    residue_scans_run()  # and run by a worker
    return {"late": late, "on_time": on_time}


def test_the_report_holds_the_periods_facts_and_the_chain_head(client_as, auditor, period_facts):
    today = timezone.localdate()
    response = client_as(auditor).get(URL, {"start": today - timedelta(days=1), "end": today})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "Summary",
        "Consent changes",
        "Requests",
        "Requests by type",
        "Erasures",
        "Retention",
        "Waived acknowledgements",
        "Records of processing",
    ]
    summary = dict(_sheet(book, "Summary")[1])
    chain = verify()
    assert summary["Audit chain head"] == chain.head
    assert summary["Audit chain verification"].startswith("Audit trail intact: 4 records")
    assert summary["Latest signed checkpoint"] == "none yet"
    assert summary["Consent changes recorded"] == ConsentChange.objects.count() == 4
    assert summary["Requests received"] == 2 and summary["Requests past their deadline"] == 1
    assert summary["Erasures"] == 1

    _, changes = _sheet(book, "Consent changes")
    # In words, as people read them: no source, field or level codes.
    assert ("Import", "Consent given", None, "3 Subscriptions", 2) in changes
    assert ("Admin", "Consent given", None, "2 Transactional", 1) in changes
    assert ("Import", "Purpose consent", "Newsletter", "Yes", 1) in changes

    header, requests = _sheet(book, "Requests")
    breached = {row[0]: row[header.index("Deadline breached")] for row in requests}
    assert breached == {period_facts["late"].reference: "yes", period_facts["on_time"].reference: "no"}

    _, erasures = _sheet(book, "Erasures")
    assert len(erasures) == 1 and erasures[0][2] == 1 and erasures[0][5] == "clean"
    text = " ".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row)
    assert "erin" not in text.lower() and "Erased" not in text  # no personal data of the erased

    _, records = _sheet(book, "Records of processing")
    assert records[0][:6] == (
        "Purpose",
        "Newsletter",
        "Consent (Art. 6(1)(a))",
        "name, email address",
        "Consent is valid until it is withdrawn. Contacts are not erased for inactivity. Notes: until withdrawn",
        "mail provider (processor)",
    )


def test_a_period_outside_the_facts_is_empty_and_a_broken_chain_is_reported(client_as, auditor, period_facts):
    old = timezone.localdate() - timedelta(days=400)
    book = openpyxl.load_workbook(
        io.BytesIO(client_as(auditor).get(URL, {"start": old, "end": old + timedelta(days=30)}).content)
    )
    summary = dict(_sheet(book, "Summary")[1])
    assert summary["Consent changes recorded"] == 0 and summary["Requests received"] == 0

    from consent.audit_chain import audit_checkpoint_take
    from tests.tamper import tamper

    checkpoint = audit_checkpoint_take()
    tamper(
        "UPDATE consent_consentchange SET new_value = '5' WHERE id = (SELECT MIN(id) FROM consent_consentchange)"
    )
    today = timezone.localdate()
    book = openpyxl.load_workbook(
        io.BytesIO(client_as(auditor).get(URL, {"start": today, "end": today}).content)
    )
    summary = dict(_sheet(book, "Summary")[1])
    first = ConsentChange.objects.order_by("id").first()
    assert summary["Audit chain verification"].startswith("Audit trail BROKEN: 1 problems")
    assert (
        f"Records: #{first.pk}." in summary["Audit chain verification"]
        and summary["Audit chain problems"] == 1
    )
    assert summary["Latest signed checkpoint"].startswith(
        f"{checkpoint.length} records, head {checkpoint.head_hash}"
    )


def test_the_report_needs_the_dashboard_permission_and_a_sensible_period(client_as, marketer, auditor):
    today = timezone.localdate()
    assert client_as(marketer).get(URL, {"start": today, "end": today}).status_code == 403
    refused = client_as(auditor).get(URL, {"start": today, "end": today - timedelta(days=1)}, follow=True)
    assert "The period ends before it starts." in refused.text


def test_the_report_as_pdf_holds_the_same_facts(client_as, auditor, period_facts):
    from pypdf import PdfReader

    today = timezone.localdate()
    response = client_as(auditor).get(URL, {"start": today, "end": today, "format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert verify().head[:20] in text.replace("\n", "")
    assert period_facts["late"].reference in text and "Records of processing" in text
    assert "Newsletter" in text and "erin" not in text.lower()


def test_the_pdf_numbers_its_pages_and_leaves_no_heading_alone_at_a_page_foot(
    client_as, auditor, period_facts
):
    from pypdf import PdfReader

    for n in range(70):  # enough requests to run the report over several pages
        dsr_create(kind="access", email=f"person{n}@example.org", channel="web")
    today = timezone.localdate()
    response = client_as(auditor).get(URL, {"start": today, "end": today, "format": "pdf"})
    pages = PdfReader(io.BytesIO(response.content)).pages
    assert len(pages) >= 3
    titles = {
        "Summary",
        "Consent changes",
        "Requests",
        "Requests by type",
        "Erasures",
        "Retention",
        "Waived acknowledgements",
        "Records of processing",
    }
    for number, page in enumerate(pages, 1):
        lines = [line.strip() for line in page.extract_text().splitlines() if line.strip()]
        assert f"Page {number} of {len(pages)}" in lines[-1] or any(
            f"Page {number} of {len(pages)}" in line for line in lines[-2:]
        )
        body = [line for line in lines if not line.startswith("Page ")]
        assert body[-1] not in titles, (number, body[-3:])
