"""Bulk rectification: export selected contacts for correction, correct them in Excel, upload the
file back; every changed field goes through the hand edit's services (issue 25, point 5)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from consent.models import ConsentChange, PurposeConsent, Source
from contacts.models import Contact
from contacts.services import contacts_create
from imports.models import Rectification
from staff.models import AccessLogEntry
from subscriptions.models import ConsentRequest
from tests.factories import ContactFactory, PurposeFactory, with_consent

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/contacts/contact/"
UPLOAD = "/admin/imports/rectification/add/"
REASON = "corrections from customer service, May"
PHONE_REFUSED = "This is not a valid phone number; write it with its country code, e.g. +49 30 1234567."


def export(client, contacts, *, every=False) -> list[list]:
    """The officer selects the contacts (or every contact of the list) and runs "Export selected
    for correction"."""
    data = {"action": "export_for_rectification", "_selected_action": [c.pk for c in contacts]}
    if every:
        data.update(select_across="1", _selected_action=[contacts[0].pk])
    response = client.post(CHANGELIST, data)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def workbook(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client, content: bytes, *, mode="valid_rows", reason=REASON, name="corrected.xlsx"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, content), "reason": reason, "mode": mode})


@pytest.fixture
def officer_client(client_as, privacy_officer, eager):
    return client_as(privacy_officer)


def _people(count: int) -> list[Contact]:
    contacts_create(
        people=[
            {"first_name": f"Anna{n}", "last_name": "Berg", "email": f"anna{n}@example.org"}
            for n in range(count)
        ]
    )
    return list(Contact.objects.order_by("pk"))


def test_a_round_trip_of_1000_contacts_with_10_corrections_writes_10_history_rows(
    officer_client, django_capture_on_commit_callbacks
):
    contacts = _people(1000)
    rows = export(officer_client, contacts, every=True)
    header = rows[0]
    assert header[:7] == ["Reference", "First name", "Last name", "Email", "Phone", "Country", "Language"]
    # The reference names the contact without personal data.
    assert all("@" not in str(row[0]) and "Anna" not in str(row[0]) for row in rows[1:])
    last, email = header.index("Last name"), header.index("Email")
    for row in rows[1:11]:
        row[last] = "Berg-Corrected"
    rows[500][email] = "not-an-address"
    history_before = Contact.history.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(officer_client, workbook(rows))

    run = Rectification.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{run.pk}/change/")
    assert Contact.history.count() - history_before == 10
    corrected = Contact.history.filter(last_name="Berg-Corrected")
    assert corrected.count() == 10 and {h.history_change_reason for h in corrected} == {REASON}
    assert Contact.objects.filter(last_name="Berg-Corrected").count() == 10
    assert (run.status, run.applied_rows, run.unchanged_rows, run.refused_rows) == ("done", 10, 989, 1)
    (error,) = run.row_errors.all()
    # Row 501 of the file: the header is row 1.
    assert (error.row, error.column) == (501, "Email") and "valid email" in error.reason
    page = officer_client.get(response["Location"]).content.decode()
    assert "501" in page and "Download report (XLSX)" in page
    assert not run.file and not Contact.objects.filter(email="not-an-address").exists()
    assert AccessLogEntry.objects.filter(action="export_contacts", contact_count=1000).exists()


def test_all_or_nothing_leaves_every_contact_untouched_on_one_bad_row(
    officer_client, django_capture_on_commit_callbacks
):
    contacts = _people(5)
    rows = export(officer_client, contacts)
    first, phone = rows[0].index("First name"), rows[0].index("Phone")
    rows[1][first] = "Anne"
    rows[2][first] = "Annika"
    rows[3][phone] = "call me maybe"
    history_before = Contact.history.count()

    with django_capture_on_commit_callbacks(execute=True):
        upload(officer_client, workbook(rows), mode="all_or_nothing")

    run = Rectification.objects.get()
    assert run.status == "failed" and "nothing was corrected" in run.error
    (error,) = run.row_errors.all()
    # The report names the row and column; it does not keep the refused value.
    assert (error.row, error.column, error.reason) == (4, "Phone", PHONE_REFUSED)
    assert Contact.history.count() == history_before
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == [f"Anna{n}" for n in range(5)]


def test_a_marketer_can_neither_export_for_correction_nor_upload(client_as, marketer):
    contact = ContactFactory()
    client = client_as(marketer)
    response = client.post(
        CHANGELIST, {"action": "export_for_rectification", "_selected_action": [contact.pk]}
    )
    assert not response.get("Content-Type", "").startswith("application/vnd.openxmlformats")
    assert client.get(UPLOAD).status_code == 403
    assert upload(client, b"PK\x03\x04").status_code == 403
    assert not Rectification.objects.exists()


def test_a_consent_raise_in_the_file_becomes_a_pending_confirmation(
    officer_client, smtp, django_capture_on_commit_callbacks
):
    newsletter = PurposeFactory(name="Newsletter", slug="newsletter")
    contact = with_consent(ContactFactory(email="holly@contoso.com"), level=1)
    rows = export(officer_client, [contact])
    header = rows[0]
    rows[1][header.index("Consent level")] = 3
    rows[1][header.index("Purpose: Newsletter (newsletter)")] = "Yes"

    with django_capture_on_commit_callbacks(execute=True):
        upload(officer_client, workbook(rows))

    run = Rectification.objects.get()
    assert (run.status, run.confirmations, run.changes) == ("done", 1, 0)
    contact.refresh_from_db()
    assert contact.consent_given == 1  # nothing raised before the person confirms
    assert not PurposeConsent.objects.filter(contact=contact, purpose=newsletter).exists()
    request = ConsentRequest.objects.get(contact=contact)
    assert request.confirmed_at is None
    assert request.changes == {"level": 3, "purposes": {"newsletter": True}}
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "holly@contoso.com"


def test_a_lowered_level_is_applied_through_the_consent_service_with_the_reason(
    officer_client, logging_on, django_capture_on_commit_callbacks
):
    contact = with_consent(ContactFactory(), level=4)
    rows = export(officer_client, [contact])
    rows[1][rows[0].index("Consent level")] = 2

    with django_capture_on_commit_callbacks(execute=True):
        upload(officer_client, workbook(rows))

    contact.refresh_from_db()
    assert contact.consent_given == 2
    record = ConsentChange.objects.filter(contact=contact).latest("id")
    assert (record.field, record.new_value, record.source, record.justification) == (
        "consent_given",
        "2",
        Source.IMPORT,
        REASON,
    )
    assert not ConsentRequest.objects.exists()


@pytest.mark.parametrize(
    "content, name, message",
    [
        (b"PK\x03\x04 not really a workbook", "corrected.xlsx", "damaged"),
        (bytes(range(256)) * 4, "corrected.xlsx", "binary data"),
        (b"Reference,Email\nC1:x,a@example.org\n", "corrected.csv", "Excel file (.xlsx)"),
        (b"", "corrected.xlsx", "empty"),
    ],
)
def test_a_malformed_file_is_refused_whole_and_changes_nothing(officer_client, content, name, message):
    contact = ContactFactory()
    history_before = Contact.history.count()
    response = upload(officer_client, content, name=name)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Rectification.objects.exists() and Contact.history.count() == history_before
    assert contact.email == Contact.objects.get().email


def test_a_workbook_without_references_or_reason_is_refused(officer_client):
    content = workbook([["Email"], ["a@example.org"]])
    page = upload(officer_client, content).content.decode()
    assert "no “Reference” column" in page
    contact = ContactFactory()
    rows = export(officer_client, [contact])
    page = upload(officer_client, workbook(rows), reason="  ").content.decode()
    assert "This field is required" in page or "Say why" in page
    assert not Rectification.objects.exists()


def test_a_tampered_reference_is_refused_and_rectifies_nobody(
    officer_client, django_capture_on_commit_callbacks
):
    one, other = ContactFactory(), ContactFactory()
    rows = export(officer_client, [one])
    rows[1][0] = str(rows[1][0]).replace(f"C{one.pk}:", f"C{other.pk}:")
    rows[1][rows[0].index("First name")] = "Mallory"

    with django_capture_on_commit_callbacks(execute=True):
        upload(officer_client, workbook(rows))

    (error,) = Rectification.objects.get().row_errors.all()
    assert (error.row, error.column) == (2, "Reference")
    assert not Contact.objects.filter(first_name="Mallory").exists()


def test_an_erased_address_or_a_duplicate_is_refused_like_a_hand_edit(
    officer_client, django_capture_on_commit_callbacks
):
    taken = ContactFactory(email="taken@example.org")
    contact = ContactFactory()
    rows = export(officer_client, [contact])
    rows[1][rows[0].index("Email")] = "TAKEN@example.org"

    with django_capture_on_commit_callbacks(execute=True):
        upload(officer_client, workbook(rows))

    (error,) = Rectification.objects.get().row_errors.all()
    assert error.row == 2 and "Another contact has this email address" in error.reason
    assert Contact.objects.filter(email="taken@example.org").get() == taken


def test_old_uploads_are_purged_and_an_erasure_finds_them(officer_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from core.filescan import Identity
    from imports.rectification_files import rectification_uploads_naming, rectification_uploads_purge

    contact = ContactFactory(email="holly@contoso.com")
    rows = export(officer_client, [contact])
    upload(officer_client, workbook(rows))  # queued, never run: the file stays
    run = Rectification.objects.get()
    assert run.file and rectification_uploads_naming([contact.pk], [Identity(email="holly@contoso.com")]) == [
        run
    ]
    assert rectification_uploads_purge() == 0
    assert rectification_uploads_purge(now=timezone.now() + timedelta(days=400)) == 1
    run.refresh_from_db()
    assert not run.file and run.status == "failed" and "retention" in run.error


def test_an_erasure_deletes_the_uploads_naming_the_person(officer_client):
    from core.filescan import Identity
    from imports.rectification_files import rectification_uploads_erase, rectification_uploads_naming

    holly, other = ContactFactory(email="holly@contoso.com"), ContactFactory()
    upload(officer_client, workbook(export(officer_client, [holly])), name="holly.xlsx")
    upload(officer_client, workbook(export(officer_client, [other])), name="other.xlsx")
    found = rectification_uploads_naming([holly.pk], [Identity(email="holly@contoso.com")])
    assert [run.file_name for run in found] == ["holly.xlsx"]

    assert rectification_uploads_erase(found, []) == 1
    erased, kept = (
        Rectification.objects.get(file_name="holly.xlsx"),
        Rectification.objects.get(file_name="other.xlsx"),
    )
    assert not erased.file and erased.status == "failed" and "erasure" in erased.error
    assert kept.file and kept.status == "queued"


def test_a_run_whose_worker_died_is_resumed_after_its_last_committed_chunk(
    officer_client, settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from imports.rectification import rectifications_resume_stalled

    settings.IMPORT_CHUNK_ROWS = 2
    contacts = _people(4)
    rows = export(officer_client, contacts)
    first = rows[0].index("First name")
    for row in rows[1:]:
        row[first] = row[first] + "-fixed"
    upload(officer_client, workbook(rows))  # queued; its message never reached a worker
    run = Rectification.objects.get()
    assert Contact.objects.filter(first_name__endswith="-fixed").count() == 0

    Rectification.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert rectifications_resume_stalled() == 1
    run.refresh_from_db()
    assert (run.status, run.applied_rows, run.next_row) == ("done", 4, 4)
    assert Contact.objects.filter(first_name__endswith="-fixed").count() == 4
    assert rectifications_resume_stalled() == 0


def test_the_export_neutralises_formulas_and_reads_back_unchanged(
    officer_client, django_capture_on_commit_callbacks
):
    contact = ContactFactory(first_name='=HYPERLINK("http://evil.example","x")', phone="+49 30 1234567")
    response = officer_client.post(
        CHANGELIST, {"action": "export_for_rectification", "_selected_action": [contact.pk]}
    )
    content = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(content)).active
    header = [cell.value for cell in sheet[1]]
    assert all(cell.font.b for cell in sheet[1]) and sheet.freeze_panes == "A2"  # styled like the exports
    name, phone = sheet.cell(2, header.index("First name") + 1), sheet.cell(2, header.index("Phone") + 1)
    assert name.data_type == "s" and name.quotePrefix and phone.data_type == "s" and phone.quotePrefix
    history_before = Contact.history.count()

    with django_capture_on_commit_callbacks(execute=True):
        upload(officer_client, content)

    run = Rectification.objects.get()
    assert (run.status, run.unchanged_rows, run.applied_rows) == ("done", 1, 0)
    assert Contact.history.count() == history_before
