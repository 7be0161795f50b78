"""Streamed, formula-safe Excel exports shared by every app.

openpyxl's write-only mode keeps memory flat: rows go straight to a temporary sheet file and the
workbook is zipped into another temporary file, which the response then streams.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Iterable, Sequence

from django.http import FileResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

EXCEL_MAX_ROWS = 1_048_576
# OWASP CSV/formula injection: a cell starting with one of these may run as a formula in Excel,
# LibreOffice or Google Sheets. Full-width forms are folded by some spreadsheet programs too.
_FORMULA_START = re.compile(r"^[=+\-@\t\r\n\uff1d\uff0b\uff0d\uff20]")


def safe_cell(value):
    """A value as it may enter a spreadsheet: never a formula, no illegal XML characters."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dt.datetime):
        # Excel has no time zones: write the organisation's local wall-clock time.
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, dt.date):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if _FORMULA_START.match(text):
        text = "'" + text
    return text


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
    sheet, written, in_sheet, sheet_no = None, 0, max_rows_per_sheet, 0
    for row in rows:
        if in_sheet >= max_rows_per_sheet:
            sheet_no += 1
            sheet = workbook.create_sheet(title[:31] if sheet_no == 1 else f"{title[:24]} ({sheet_no})")
            sheet.append([safe_cell(h) for h in header])
            in_sheet = 0
        sheet.append([safe_cell(v) for v in row])
        in_sheet += 1
        written += 1
    if sheet is None:
        workbook.create_sheet(title[:31]).append([safe_cell(h) for h in header])
    workbook.save(fileobj)
    return written


def xlsx_response(
    *, filename: str, title: str, header: Sequence[str], rows: Iterable[Sequence]
) -> FileResponse:
    """An attachment response streaming the workbook from a temporary file deleted on close."""
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (FileResponse closes it)
    write_workbook(spool, title=title, header=header, rows=rows)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
