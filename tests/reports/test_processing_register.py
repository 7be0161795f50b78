"""The records of processing (GDPR Art. 30): every item of Art. 30(1) filled on the demo
organisation, in the XLSX and the PDF an authority asks for; edits on record; only for officers
and auditors; a value that looks like a formula stays text."""

import io
from datetime import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from consent.models import Purpose, TransferSafeguard
from demo.records import ORGANISATION, ensure_records
from demo.seed import ensure_catalogue
from reports.processing_register import HEADER
from subscriptions.models import SubscriptionList
from tests.factories import PurposeFactory

pytestmark = pytest.mark.django_db
URL = reverse("processing-register")
ART_30_ITEMS = ["Art. 30(1)(a)", "Art. 30(1)(b)", "Art. 30(1)(c)", "Art. 30(1)(d)", "Art. 30(1)(e)"]
ART_30_ITEMS += ["Art. 30(1)(f)", "Art. 30(1)(g)"]


@pytest.fixture
def demo_records():
    """The demo organisation's purposes, lists and records, without its contacts (fast)."""
    ensure_catalogue()
    ensure_records()
    return Purpose.objects.count() + SubscriptionList.objects.count()


def _workbook(response):
    assert response.status_code == 200, response.status_code
    return [list(row) for row in load_workbook(io.BytesIO(response.content)).active.iter_rows()]


def _flat(value) -> str:
    """A cell's value as the PDF prints it, whitespace collapsed (lines wrap differently)."""
    text = f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else str(value)
    return " ".join(text.split())


def test_the_xlsx_has_every_art_30_column_filled_for_every_activity(client_as, privacy_officer, demo_records):
    response = client_as(privacy_officer).get(URL, {"format": "xlsx"})
    assert response["Content-Disposition"].startswith('attachment; filename="records-of-processing-')
    rows = _workbook(response)
    header = [cell.value for cell in rows[0]]
    assert header == HEADER
    assert all(any(item in title for title in header) for item in ART_30_ITEMS)
    body = [[cell.value for cell in row] for row in rows[1:]]
    assert len(body) == demo_records == 7
    empty = [(row[0], header[i]) for row in body for i, value in enumerate(row) if value in (None, "")]
    assert empty == []
    news = next(row for row in body if row[0] == "Newsletter (purpose)")
    column = dict(zip(header, news, strict=True))
    assert column["Controller (Art. 30(1)(a))"].startswith("Demo Shop GmbH\nMusterstraße 1")
    assert "Demo Representative Ltd" in column["Controller's representative (Art. 30(1)(a))"]
    # Retention as the rules the product applies, in words.
    assert column["Time limits for erasure (Art. 30(1)(f))"].startswith(
        "Consent lapses 24 months after the person's last action unless it is renewed."
    )
    updates = dict(
        zip(header, next(row for row in body if row[0] == "Product updates (purpose)"), strict=True)
    )
    assert (
        updates["Transfers to third countries (Art. 30(1)(e))"]
        == "USA: CRM and analytics provider (processor)"
    )
    assert updates["Safeguards for the transfers (Art. 30(1)(e), Art. 46)"] == (
        "Standard contractual clauses (Art. 46(2)(c))"
    )


def test_the_pdf_holds_every_art_30_item_of_every_activity(client_as, auditor, demo_records):
    response = client_as(auditor).get(URL, {"format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = _flat(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages))
    assert all(item in text for item in ART_30_ITEMS)
    rows = _workbook(client_as(auditor).get(URL, {"format": "xlsx"}))
    missing = [
        (row[0].value, rows[0][i].value)
        for row in rows[1:]
        for i, cell in enumerate(row)
        if _flat(cell.value)[:40] not in text
    ]
    assert missing == []
    assert ORGANISATION["dpo_contact"] in text


def test_marketers_and_staff_without_a_role_cannot_export_the_register(client_as, marketer, outsider):
    for user in (marketer, outsider):
        client = client_as(user)
        assert client.get(URL, {"format": "xlsx"}).status_code == 403
        assert client.get(URL, {"format": "pdf"}).status_code == 403
    changelist = client_as(marketer).get(reverse("admin:consent_purpose_changelist")).content
    assert URL.encode() not in changelist


def test_a_formula_looking_entry_stays_text_in_the_xlsx(client_as, privacy_officer):
    PurposeFactory(name="Survey", recipients='=HYPERLINK("https://evil.example","Click")')
    rows = _workbook(client_as(privacy_officer).get(URL))
    cell = rows[1][HEADER.index("Categories of recipients (Art. 30(1)(d))")]
    assert cell.value == '=HYPERLINK("https://evil.example","Click")'
    assert cell.data_type == "s" and cell.quotePrefix  # shown as text, never run


def _form_data(response) -> dict:
    """The change form as the browser would post it back unchanged."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif value not in (None, False):
            data[name] = value
    return data


def test_an_edit_of_a_transfer_shows_in_the_purposes_history(client_as, privacy_officer, demo_records):
    purpose = Purpose.objects.get(slug="newsletter")
    client = client_as(privacy_officer)
    url = reverse("admin:consent_purpose_change", args=[purpose.pk])
    data = _form_data(client.get(url))
    data |= {"transfer_countries": "Switzerland: our backup host", "transfer_safeguard": "adequacy"}
    assert client.post(url, data).status_code == 302

    page = client.get(reverse("admin:consent_purpose_history", args=[purpose.pk])).content.decode()
    assert "Transfers to third countries" in page and "Switzerland: our backup host" in page
    assert "Adequacy decision (Art. 45)" in page and "No transfer to a third country" in page
    assert "officer" in page


def test_transfers_need_a_safeguard_and_a_safeguard_needs_countries(client_as, privacy_officer, demo_records):
    purpose = Purpose.objects.get(slug="newsletter")
    client = client_as(privacy_officer)
    url = reverse("admin:consent_purpose_change", args=[purpose.pk])
    data = _form_data(client.get(url)) | {
        "transfer_countries": "USA: analytics",
        "transfer_safeguard": "none",
    }
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "Name the safeguard that makes the transfers to these countries lawful." in refused.text
    purpose.refresh_from_db()
    assert purpose.transfer_countries == "" and purpose.transfer_safeguard == TransferSafeguard.NONE

    purpose.transfer_safeguard = TransferSafeguard.SCC
    with pytest.raises(ValidationError, match="Name the countries the data goes to"):
        purpose.full_clean()


def test_the_demo_records_survive_a_second_run_and_an_officers_edit(demo_records):
    Purpose.objects.filter(slug="events").update(data_subject_categories="Fans")
    history = Purpose.history.count()
    ensure_records()
    assert Purpose.objects.get(slug="events").data_subject_categories == "Fans"
    assert Purpose.history.count() == history  # nothing changed, nothing written
