"""What every PDF the product writes shares (fpdf2, no network, no system fonts): text the core
fonts can print, a document that numbers its pages, and a form-like document of fields (the
access package's summary, the compliance report, the Art. 30 register, the breach export)."""

from __future__ import annotations

import datetime as dt
import unicodedata

from django.utils import timezone

# Typographic characters people type (or gettext's German „quotes“) that Latin-1 lacks.
NARROW = (
    ("\u2014", "-"),
    ("\u2013", "-"),
    ("\u2019", "'"),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u201e", '"'),
    ("\u20ac", "EUR"),
)


def pdf_text(value) -> str:
    """The PDF core fonts cover Latin-1: typographic characters become their plain forms, a letter
    outside Latin-1 its unaccented base ("Dvořák" reads "Dvorák", not "Dvo?ák"), anything else
    "?" rather than failing; datetimes read in local time."""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    text = "" if value is None else str(value)
    for wide, narrow in NARROW:
        text = text.replace(wide, narrow)
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        text = "".join(_latin1(char) for char in text)
    return text


def _latin1(char: str) -> str:
    if ord(char) < 256:
        return char
    base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
    return base or "?"


def numbered_pdf(**kwargs):
    """An FPDF document whose every page ends in "Page n of N"."""
    from fpdf import FPDF

    class NumberedPDF(FPDF):
        def footer(self):
            # "{nb}" is fpdf2's alias for the page count, filled in when the document is closed.
            self.set_y(-10)
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")

    return NumberedPDF(**kwargs)


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
