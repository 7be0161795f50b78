"""The shared Excel writer: safe cells, sheet roll-over, time zones."""

import datetime as dt
import io

import openpyxl
from django.utils import timezone

from core.xlsx import write_workbook


def read(buffer):
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    return {sheet.title: list(sheet.iter_rows()) for sheet in book}


def test_every_formula_prefix_is_written_as_text_with_its_content_intact():
    risky = ["=1+1", "+49301234567", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\uff1d1+1"]
    buffer = io.BytesIO()
    write_workbook(buffer, title="Risky", header=["value"], rows=[[value] for value in risky])
    cells = [row[0] for row in read(buffer)["Risky"][1:]]
    assert [c.value for c in cells] == risky
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_ordinary_values_keep_their_types():
    buffer = io.BytesIO()
    write_workbook(buffer, title="Plain", header=["a", "b", "c", "d"], rows=[["text", 3, True, None]])
    row = read(buffer)["Plain"][1]
    assert [c.value for c in row[:3]] == ["text", 3, True]
    assert not row[0].quotePrefix


def test_characters_excel_cannot_hold_are_dropped_instead_of_failing():
    buffer = io.BytesIO()
    write_workbook(buffer, title="T", header=["v"], rows=[["bell\x07 and\x00 null"]])
    assert read(buffer)["T"][1][0].value == "bell and null"


def test_aware_datetimes_are_written_in_local_time(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    moment = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    buffer = io.BytesIO()
    with timezone.override("Europe/Berlin"):
        write_workbook(buffer, title="T", header=["when"], rows=[[moment]])
    assert read(buffer)["T"][1][0].value == dt.datetime(2026, 3, 1, 13, 0)


def test_rows_beyond_a_sheet_continue_on_a_new_sheet_with_the_header():
    buffer = io.BytesIO()
    written = write_workbook(
        buffer, title="Records", header=["n"], rows=([i] for i in range(5)), max_rows_per_sheet=2
    )
    sheets = read(buffer)
    assert written == 5
    assert list(sheets) == ["Records", "Records (2)", "Records (3)"]
    assert [[c.value for c in row] for row in sheets["Records (3)"]] == [["n"], [4]]


def test_an_empty_export_still_has_its_header():
    buffer = io.BytesIO()
    assert write_workbook(buffer, title="Empty", header=["a", "b"], rows=[]) == 0
    assert [[c.value for c in row] for row in read(buffer)["Empty"]] == [["a", "b"]]


def _book(buffer):
    return openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))


def test_every_sheet_opens_with_a_bold_frozen_filtered_header():
    buffer = io.BytesIO()
    write_workbook(
        buffer,
        title="Records",
        header=["Record ID", "Source"],
        rows=([i, "Import"] for i in range(5)),
        max_rows_per_sheet=3,
    )
    book = _book(buffer)
    assert book.sheetnames == ["Records", "Records (2)"]
    for sheet, last in zip(book, (4, 3), strict=True):
        assert all(cell.font.bold for cell in sheet[1])
        assert not sheet["A2"].font.bold
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:B{last}"


def test_an_empty_export_still_gets_its_filter_and_frozen_header():
    buffer = io.BytesIO()
    write_workbook(buffer, title="Empty", header=["a", "b", "c"], rows=[])
    sheet = _book(buffer)["Empty"]
    assert sheet.auto_filter.ref == "A1:C1" and sheet.freeze_panes == "A2" and sheet["A1"].font.bold


def test_columns_are_as_wide_as_their_content_within_bounds():
    buffer = io.BytesIO()
    rows = [[1, "a" * 200, dt.datetime(2026, 5, 12, 14, 3), "short\nsecond line that is long"]]
    write_workbook(buffer, title="W", header=["ID", "Long text", "When", "Note"], rows=rows)
    widths = {k: d.width for k, d in _book(buffer)["W"].column_dimensions.items()}
    assert 6 <= widths["A"] < 10  # "ID" and a small number: narrow, not zero
    assert widths["B"] == 60  # capped: one long cell does not make a wall
    assert widths["C"] >= 19  # a date and time shows whole
    assert widths["D"] < 12  # the first line counts


def test_a_header_that_looks_like_a_formula_stays_text():
    buffer = io.BytesIO()
    write_workbook(buffer, title="T", header=["=cmd|' /C calc'!A0"], rows=[])
    cell = _book(buffer)["T"]["A1"]
    assert cell.value == "=cmd|' /C calc'!A0" and cell.data_type == "s" and cell.font.bold
