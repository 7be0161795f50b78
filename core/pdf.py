"""PDF text and documents (fpdf2, no network, no system fonts), shared by every PDF the product
writes: the access package's summary, the compliance report, the breach register's export."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

# The core fonts cover Latin-1: typographic dashes and quotes (German „…“ too) become plain ones.
NARROW = (
    ("\u2014", "-"),
    ("\u2013", "-"),
    ("\u2019", "'"),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u201e", '"'),
)


def pdf_text(value) -> str:
    """A value as the core fonts can print it: local time for a moment, anything outside
    Latin-1 replaced rather than failing."""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    text = "" if value is None else str(value)
    for wide, narrow in NARROW:
        text = text.replace(wide, narrow)
    return text.encode("latin-1", "replace").decode("latin-1")


def fields_pdf(*, title: str, sections: list[tuple[str, list[tuple[str, object]]]]) -> bytes:
    """A form-like document: a title, then per section a heading and a two-column table of
    (field, value), as authorities' notification forms are laid out."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(pdf_text(title))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=15)
    pdf.multi_cell(0, 8, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    for heading, rows in sections:
        pdf.ln(3)
        pdf.set_font("Helvetica", style="B", size=11)
        pdf.multi_cell(0, 7, pdf_text(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        with pdf.table(col_widths=(35, 65), text_align="LEFT", first_row_as_headings=False) as table:
            for label, value in rows:
                row = table.row()
                row.cell(pdf_text(label))
                row.cell(pdf_text(value))
    return bytes(pdf.output())
