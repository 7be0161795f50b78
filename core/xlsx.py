"""Streamed, formula-safe Excel exports shared by every app.

openpyxl's write-only mode keeps memory flat: rows go straight to a temporary sheet file and the
workbook is zipped into another temporary file, which the response then streams.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Iterable, Sequence
from itertools import chain, islice

from django.http import FileResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.db_router import replica_reads

EXCEL_MAX_ROWS = 1_048_576
# OWASP formula injection: text starting with one of these may be taken for a formula by Excel,
# LibreOffice or Google Sheets (full-width forms are folded to ASCII by some of them).
FORMULA_FIRST = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
FORMULA_START = re.compile("^[" + re.escape("".join(sorted(FORMULA_FIRST))) + "]")


def plain_value(value):
    """A value as it may enter a spreadsheet: local naive datetimes, no illegal XML characters."""
    if value is None or isinstance(value, bool | int | float | dt.date):
        if isinstance(value, dt.datetime) and timezone.is_aware(value):
            # Excel has no time zones: write the organisation's local wall-clock time.
            return timezone.localtime(value).replace(tzinfo=None)
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def safe_cell(sheet, value):
    """A cell that can never run as a formula.

    Risky text keeps its exact content (a phone number "+4930..." stays what it is) but is
    written as a text cell with Excel's quotePrefix flag, the same mark Excel sets when a user
    types a leading apostrophe: shown as text, never evaluated, not even after editing the cell.
    """
    value = plain_value(value)
    if not (isinstance(value, str) and FORMULA_START.match(value)):
        return value
    return _text_cell(sheet, value)


def _text_cell(sheet, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
    cell.quotePrefix = True
    return cell


def _safe_row(sheet, row, tz) -> list:
    """safe_cell for a whole row, with the common types decided by exact type first.

    Every exported cell passes here, so the usual cases avoid safe_cell's regular expressions and
    per-value time zone lookup (`tz` is the current zone, read once per sheet), and a value that
    needs nothing (most of them) is left where it is; anything else (str subclasses, lazy
    translations, Decimal, ...) takes safe_cell itself.
    """
    values = list(row)
    for index, value in enumerate(values):
        kind = type(value)
        if kind is str:
            # Only control characters are illegal in XML, and no printable string holds one.
            if value and (value[0] in FORMULA_FIRST or not value.isprintable()):
                values[index] = _safe_text(sheet, value)
        elif kind is dt.datetime:
            if value.utcoffset() is not None:
                values[index] = value.astimezone(tz).replace(tzinfo=None)
        elif not (value is None or kind is int or kind is bool or kind is float or kind is dt.date):
            values[index] = safe_cell(sheet, value)
    return values


def _safe_text(sheet, value: str):
    if not value.isprintable():
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return _text_cell(sheet, value) if value[:1] in FORMULA_FIRST else value


def write_workbook(
    fileobj,
    *,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence],
    max_rows_per_sheet: int = EXCEL_MAX_ROWS - 1,
) -> int:
    """Write `rows` under `header` into fileobj, continuing on a new sheet when one is full."""
    workbook = Workbook(write_only=True)
    written = _add_sheets(workbook, title, header, rows, max_rows_per_sheet)
    workbook.save(fileobj)
    return written


def write_workbook_sheets(fileobj, sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence]]]) -> int:
    """Several tables in one workbook, one sheet (or more, when full) per (title, header, rows)."""
    workbook = Workbook(write_only=True)
    written = sum(_add_sheets(workbook, t, h, r, EXCEL_MAX_ROWS - 1) for t, h, r in sheets)
    if not workbook.worksheets:
        workbook.create_sheet("Empty")
    workbook.save(fileobj)
    return written


# Column widths come from the header and the first rows: enough to size columns sensibly while
# the rest still streams through (a sample of this many rows is the only thing held in memory).
WIDTH_SAMPLE_ROWS = 200
MIN_WIDTH, MAX_WIDTH = 6, 60
HEADER_FONT = Font(bold=True)


def _add_sheets(workbook, title, header, rows, max_rows_per_sheet) -> int:
    """Write rows into as many sheets as they need. Every sheet opens as people like it: a bold
    header row that stays in view (frozen), a filter on every column, columns wide enough for
    their content. In write-only mode widths and the frozen row must be set before the first row
    (they precede the data in the file); the filter's range is written when the sheet closes."""
    sheet, written, in_sheet, sheet_no = None, 0, max_rows_per_sheet, 0
    tz = timezone.get_current_timezone()
    rows = iter(rows)
    sample = list(islice(rows, WIDTH_SAMPLE_ROWS))
    widths = _column_widths(header, sample)
    for row in chain(sample, rows):
        if in_sheet >= max_rows_per_sheet:
            _close_sheet(sheet, header, in_sheet)
            sheet_no += 1
            sheet = _open_sheet(
                workbook, title[:31] if sheet_no == 1 else f"{title[:24]} ({sheet_no})", header, widths
            )
            in_sheet = 0
        sheet.append(_safe_row(sheet, row, tz))
        in_sheet += 1
        written += 1
    if sheet is None:
        sheet = _open_sheet(workbook, title[:31], header, widths)
        in_sheet = 0
    _close_sheet(sheet, header, in_sheet)
    return written


def _open_sheet(workbook, title: str, header: Sequence[str], widths: list[float]):
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append([_header_cell(sheet, h) for h in header])
    return sheet


def _close_sheet(sheet, header: Sequence[str], rows: int) -> None:
    if sheet is not None and header:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{rows + 1}"


def _header_cell(sheet, value) -> WriteOnlyCell:
    value = plain_value(value)
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str) and FORMULA_START.match(value):
        cell.data_type, cell.quotePrefix = "s", True
    cell.font = HEADER_FONT
    return cell


def _column_widths(header: Sequence[str], sample: list[Sequence]) -> list[float]:
    """Each column as wide as its header or its longest sampled value (first line), within bounds."""
    widths = [len(str(h)) + 3 for h in header]  # room for the filter's drop-down button
    for row in sample:
        for index, value in enumerate(row[: len(widths)]):
            widths[index] = max(widths[index], _shown_length(value) + 1)
    return [float(min(max(w, MIN_WIDTH), MAX_WIDTH)) for w in widths]


def _shown_length(value) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 19  # 2026-05-12 14:03:00
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, float):
        return min(len(f"{value:.6g}"), 15)
    text = str(value)
    return len(text.split("\n", 1)[0])


def xlsx_response(
    *, filename: str, title: str, header: Sequence[str], rows: Iterable[Sequence]
) -> FileResponse:
    """An attachment response streaming the workbook from a temporary file deleted on close."""
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (FileResponse closes it)
    with replica_reads():  # an export reads the rows here, whole, before the response goes out
        write_workbook(spool, title=title, header=header, rows=rows)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
