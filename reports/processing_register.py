"""The records of processing activities (GDPR Art. 30(1)) in the layout supervisory authorities
publish (the CNIL's and the ICO's register templates): one row per processing activity, one column
per item of Art. 30(1)(a)-(g), as XLSX and as PDF.

Each purpose and each subscription list is one processing activity: they already carry the legal
basis, the data, the recipients and the retention rules consent.retention acts on, so the register
shows what the product enforces rather than a second description of it. The organisation-wide
items (controller, representative, DPO) come from the compliance settings.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Max
from django.utils import timezone

from consent.models import ProcessingRecord, Purpose, TransferSafeguard
from core.models import ComplianceSettings
from core.pdf import numbered_pdf, pdf_text
from core.xlsx import write_workbook
from subscriptions.models import SubscriptionList

# (column, Art. 30(1) item) in the order of the regulation; the XLSX header and the PDF labels.
COLUMNS = [
    ("Processing activity", ""),
    ("Controller", "Art. 30(1)(a)"),
    ("Controller's representative", "Art. 30(1)(a)"),
    ("Data protection officer", "Art. 30(1)(a)"),
    ("Purposes of the processing", "Art. 30(1)(b)"),
    ("Legal basis", "Art. 6(1)"),
    ("Categories of data subjects", "Art. 30(1)(c)"),
    ("Categories of personal data", "Art. 30(1)(c)"),
    ("Categories of recipients", "Art. 30(1)(d)"),
    ("Transfers to third countries", "Art. 30(1)(e)"),
    ("Safeguards for the transfers", "Art. 30(1)(e), Art. 46"),
    ("Time limits for erasure", "Art. 30(1)(f)"),
    ("Technical and organisational security measures", "Art. 30(1)(g), Art. 32(1)"),
    # Art. 30(3): the records are kept up to date; each record's changes are on its history page.
    ("Record last changed", ""),
]
HEADER = [f"{name} ({article})" if article else name for name, article in COLUMNS]
ORGANISATION_COLUMNS = 3  # controller, representative, DPO: the same on every row


def processing_activities() -> Iterator[tuple[str, ProcessingRecord]]:
    """Every processing activity as (kind, record): purposes, then subscription lists, by name."""
    for purpose in Purpose.objects.order_by("name"):
        yield "Purpose", purpose
    for lst in SubscriptionList.objects.select_related("purpose").order_by("name"):
        yield "Subscription list", lst


def _last_changed(model) -> dict[int, object]:
    """Each record's latest history date (one query per model); creation when none is kept."""
    changed = dict(model.objects.values_list("pk", "created_at"))
    latest = model.history.values("id").annotate(at=Max("history_date")).values_list("id", "at")
    changed.update({pk: at for pk, at in latest if pk in changed})
    return changed


def _lines(*parts: str) -> str:
    return "\n".join(part.strip() for part in parts if part and part.strip())


def organisation_cells(settings: ComplianceSettings) -> list[str]:
    """Controller, representative and DPO, each with its contact details (Art. 30(1)(a))."""
    return [
        _lines(settings.organisation_name, settings.controller_address, settings.privacy_contact_email),
        _lines(settings.representative_name, settings.representative_address, settings.representative_email),
        settings.dpo_contact.strip(),
    ]


def _transfers(record: ProcessingRecord) -> tuple[str, str]:
    """The countries and the safeguard; "none" said in words, an unrecorded answer left empty."""
    safeguard = record.get_transfer_safeguard_display() if record.transfer_safeguard else ""
    if record.transfer_safeguard == TransferSafeguard.NONE:
        return safeguard, "Not applicable: no transfer"
    return record.transfer_countries.strip(), safeguard


def activity_row(kind: str, record: ProcessingRecord, organisation: list[str], changed) -> list:
    countries, safeguard = _transfers(record)
    description = record.description.strip()
    purpose = f"{record.name}: {description}" if description else record.name
    return [
        f"{record.name} ({kind.lower()})",
        *organisation,
        purpose,
        record.get_legal_basis_display(),
        record.data_subject_categories.strip(),
        record.data_categories.strip(),
        record.recipients.strip(),
        countries,
        safeguard,
        " ".join(record.retention_words()),
        record.security_measures.strip(),
        changed,
    ]


def register_rows() -> list[list]:
    organisation = organisation_cells(ComplianceSettings.load())
    changed = {model: _last_changed(model) for model in (Purpose, SubscriptionList)}
    return [
        activity_row(kind, record, organisation, changed[type(record)].get(record.pk))
        for kind, record in processing_activities()
    ]


def register_xlsx(fileobj) -> int:
    """The register as one sheet; formula-looking text is neutralised by core.xlsx. Returns rows."""
    return write_workbook(fileobj, title="Records of processing", header=HEADER, rows=register_rows())


KEEP_WITH_HEADING_MM = 40


def register_pdf(fileobj) -> int:
    """The register as a PDF: the organisation once, then one table (item, entry) per activity,
    as the authorities' register sheets read on paper. Returns the number of activities."""
    settings = ComplianceSettings.load()
    organisation = organisation_cells(settings)
    rows = register_rows()
    title = _lines("Records of processing activities (GDPR Art. 30(1))", settings.organisation_name)
    pdf = numbered_pdf(format="A4")
    pdf.set_title(pdf_text(title.replace("\n", ", ")))
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=15)
    pdf.multi_cell(0, 8, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8)
    pdf.cell(
        text=pdf_text(f"Generated {timezone.localtime():%Y-%m-%d %H:%M %Z}"), new_x="LMARGIN", new_y="NEXT"
    )
    _pdf_table(pdf, list(zip(HEADER[1 : 1 + ORGANISATION_COLUMNS], organisation, strict=True)))
    for number, row in enumerate(rows, 1):
        # A heading never stands alone at a page's foot: it moves to the next page with its table.
        if pdf.get_y() > pdf.h - pdf.b_margin - KEEP_WITH_HEADING_MM:
            pdf.add_page()
        else:
            pdf.ln(5)
        pdf.set_font("Helvetica", style="B", size=12)
        pdf.multi_cell(0, 7, pdf_text(f"{number}. {row[0]}"), new_x="LMARGIN", new_y="NEXT")
        items = [(label, value) for label, value in zip(HEADER, row, strict=True)]
        _pdf_table(pdf, items[1 + ORGANISATION_COLUMNS :])
    fileobj.write(pdf.output())
    return len(rows)


def _pdf_table(pdf, items: list[tuple[str, str]]) -> None:
    """Each item as its label over its entry (plain paragraphs: fpdf2's tables lay out every
    cell twice, several times slower for the same page)."""
    for label, value in items:
        pdf.set_font("Helvetica", style="B", size=9)
        pdf.multi_cell(0, 4.5, pdf_text(label), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        pdf.multi_cell(0, 4.5, pdf_text(value) or "-", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
