"""The export for the authority: the demo breach as XLSX and PDF, every field filled; and who may
read it."""

import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from breaches.models import Breach, BreachNotice
from demo import activity
from imports.models import ImportedConsent, ImportSource
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_breach(privacy_officer):
    """The demo's breach (demo.activity), over two contacts imported from the demo's web shop."""
    source = ImportSource.objects.create(
        name="Web shop", key_column="ID", email_column="Email", option_column="O", value_column="V"
    )
    purpose = PurposeFactory(slug="newsletter")
    for n in range(2):
        row = ImportedConsent.objects.create(
            source=source,
            source_key=f"WS-{n}",
            digest=f"{n:064d}",
            purpose=purpose,
            granted=True,
            effective_at=timezone.now(),
        )
        row.contacts.add(ContactFactory())
    activity.breach_with_notices(privacy_officer, timezone.now())
    activity.breach_with_notices(privacy_officer, timezone.now())  # seeding again adds nothing
    return Breach.objects.get()


def test_the_demo_breach_exports_open_with_every_field_filled(client_as, auditor, demo_breach):
    assert BreachNotice.objects.filter(sent_at__isnull=False).count() == 2
    response = client_as(auditor).get(reverse("admin:breaches_breach_authority_xlsx", args=[demo_breach.pk]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Section", "Field", "Value")
    empty = [field for _section, field, value in rows[1:] if value in (None, "", "—")]
    assert empty == [] and len(rows) > 20
    values = {field: value for _section, field, value in rows[1:]}
    assert values["Reasons for the delay (Art. 33(1))"].startswith("The partner confirmed")
    assert values["Notices to the people affected"] == "2 of 2 emails sent"
    assert "late" in values["72-hour clock"]

    pdf = client_as(auditor).get(reverse("admin:breaches_breach_authority_pdf", args=[demo_breach.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    text = " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.content)).pages
    )
    for field in values:
        assert field.split(" (")[0] in text, field
    assert "LDA-2026-4711" in text and "Web shop consent export" in text


def test_the_register_exports_every_breach_with_the_same_fields(client_as, auditor, make_breach):
    make_breach(summary="Laptop stolen")
    make_breach(summary="Misdirected letter", risk="unlikely")
    response = client_as(auditor).get(reverse("admin:breaches_breach_export"))
    rows = list(
        load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True)
    )
    assert rows[0][:3] == ("Reference", "Summary", "Discovered") and len(rows[0]) == 21
    assert sorted(row[1] for row in rows[1:]) == ["Laptop stolen", "Misdirected letter"]


def test_a_formula_in_a_field_stays_text_in_the_export(client_as, privacy_officer, make_breach):
    breach = make_breach(summary='=HYPERLINK("http://evil.example")')
    response = client_as(privacy_officer).get(
        reverse("admin:breaches_breach_authority_xlsx", args=[breach.pk])
    )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    (cell,) = [row[2] for row in sheet.iter_rows() if row[1].value == "Summary"]
    assert cell.data_type == "s" and cell.quotePrefix


def test_a_marketer_gets_nothing_of_the_register(client_as, marketer, make_breach):
    breach = make_breach()
    client = client_as(marketer)
    for name in ("changelist", "authority_xlsx", "authority_pdf", "people"):
        args = [] if name == "changelist" else [breach.pk]
        assert client.get(reverse(f"admin:breaches_breach_{name}", args=args)).status_code == 403, name
    assert (
        client.post(reverse("admin:breaches_breach_people", args=[breach.pk]), {"expected": "0"}).status_code
        == 403
    )
    assert "Breach register" not in client.get(reverse("admin:index")).content.decode()
