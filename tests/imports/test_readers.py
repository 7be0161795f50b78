"""Files as other systems write them: encodings and delimiters are detected; hostile files are
refused whole, quickly and within bounded memory; formulas stay text."""

import io
import time
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from imports.models import ImportedConsent, ImportRun
from imports.readers import FileRefused, open_table
from tests.imports.conftest import HEADER, csv_bytes, xlsx_bytes

ROW = ["1", "jürgen@contoso.com", "Änderungen & Neuigkeiten", "ja", "01.03.2026"]


def read(tmp_path, content: bytes, name="export.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    table = open_table(path)
    return table.header, list(table.rows)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_encodings_and_delimiters_are_detected(tmp_path, encoding, delimiter):
    header, rows = read(tmp_path, csv_bytes([ROW, ROW], delimiter=delimiter, encoding=encoding))
    assert header == HEADER
    assert rows == [(2, ROW), (3, ROW)]


def test_quoted_cells_keep_delimiters_and_line_breaks(tmp_path):
    content = b'Consent ID;Email;Consent option;Consent value;Date\r\n1;a@b.org;"News; weekly\r\nedition";yes;2026-03-01\r\n'
    _header, rows = read(tmp_path, content)
    assert rows == [(2, ["1", "a@b.org", "News; weekly\r\nedition", "yes", "2026-03-01"])]


def test_blank_lines_are_skipped_and_row_numbers_follow_the_file(tmp_path):
    _header, rows = read(tmp_path, b"A,B\n\n1,2\n,\n3,4\n")
    assert rows == [(3, ["1", "2"]), (5, ["3", "4"])]


def test_excel_values_are_read_as_text(tmp_path):
    import datetime as dt

    rows = [[1, "a@b.org", "News", True, dt.datetime(2026, 3, 1)], [2.0, "c@d.org", "News", 0, "2026-03-01"]]
    _header, read_rows = read(tmp_path, xlsx_bytes(rows), name="export.xlsx")
    assert read_rows == [
        (2, ["1", "a@b.org", "News", "true", "2026-03-01"]),
        (3, ["2", "c@d.org", "News", "0", "2026-03-01"]),
    ]


def test_a_formula_is_read_as_its_text_never_evaluated(tmp_path):
    rows = [["=1+1", "a@b.org", '=HYPERLINK("http://evil.example","News")', "yes", "2026-03-01"]]
    _header, read_rows = read(tmp_path, xlsx_bytes(rows), name="export.xlsx")
    assert read_rows == [
        (2, ["=1+1", "a@b.org", '=HYPERLINK("http://evil.example","News")', "yes", "2026-03-01"])
    ]


@pytest.mark.django_db
def test_formula_text_is_imported_as_plain_text_and_reported_safely(
    source, run_import, client_as, privacy_officer
):
    rows = [
        ["=1+1", "holly@contoso.com", "Newsletter", "yes", "2026-03-01"],
        ["=2+2", "holly@contoso.com", "=cmd|' /C calc'!A0", "yes", "2026-03-01"],
    ]
    run = run_import(source, xlsx_bytes(rows), name="export.xlsx")
    assert list(ImportedConsent.objects.values_list("source_key", flat=True)) == ["=1+1"]
    assert list(run.row_errors.values_list("source_key", "reason")) == [
        ("=2+2", "Unknown consent option “=cmd|' /C calc'!A0”.")
    ]
    response = client_as(privacy_officer).get(f"/admin/imports/importrun/{run.pk}/report/")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    key = sheet["B2"]
    assert (key.value, key.data_type, key.quotePrefix) == ("=2+2", "s", True)  # text, not a formula


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path, settings):
    settings.IMPORT_MAX_UNCOMPRESSED_MB = 5
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" * (50 * 1024 * 1024))  # 50 MB of one byte
    assert len(buffer.getvalue()) < 1024 * 1024  # a small upload
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(buffer.getvalue())
    started = time.monotonic()
    with pytest.raises(FileRefused, match="unpacks to more than 5 MB"):
        open_table(path)
    assert time.monotonic() - started < 2


def test_a_row_with_a_hundred_thousand_columns_is_refused(tmp_path):
    content = csv_bytes([["x"] * 100_000])
    with pytest.raises(FileRefused, match=r"Row 2 has 100000 columns; the limit is 200\."):
        read(tmp_path, content)


def test_a_single_huge_line_is_refused_without_reading_it_whole(tmp_path, settings):
    settings.IMPORT_MAX_FILE_MB = 50
    content = b"A,B\n" + b"," * (20 * 1024 * 1024)
    with pytest.raises(FileRefused, match="longer than"):
        read(tmp_path, content)


def test_a_cell_longer_than_the_limit_is_refused(tmp_path):
    with pytest.raises(FileRefused, match="longer than 10000 characters"):
        read(tmp_path, csv_bytes([["1", "x" * 10_001, "News", "yes", "2026-03-01"]]))


def test_a_file_over_the_size_limit_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_FILE_MB = 1
    with pytest.raises(FileRefused, match="the limit is 1 MB"):
        read(tmp_path, b"A,B\n" + b"1,2\n" * 400_000)


def test_a_forged_sheet_dimension_does_not_widen_every_row(tmp_path):
    workbook = Workbook()
    workbook.active.append(["A", "B"])
    workbook.active.append(["1", "2"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    forged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as original, zipfile.ZipFile(forged, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:B2"/>', b'<dimension ref="A1:XFD1048576"/>')
            copy.writestr(item, data)
    header, rows = read(tmp_path, forged.getvalue(), name="forged.xlsx")
    assert header == ["A", "B"] and rows == [(2, ["1", "2"])]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"PK\x03\x04broken", "The file looks like an Excel file but is damaged."),
        (b"\x00\x01\x02binary\x00" * 10, "holds binary data"),
    ],
)
def test_unreadable_files_fail_with_a_clear_message(tmp_path, content, message):
    with pytest.raises(FileRefused, match=message):
        read(tmp_path, content)


@pytest.mark.django_db
def test_an_upload_that_breaks_a_limit_late_applies_nothing(source, run_import, settings):
    settings.IMPORT_CHUNK_ROWS = 2
    rows = [[str(n), f"p{n}@contoso.com", "Newsletter", "yes", "2026-03-01"] for n in range(6)]
    rows.append(["7", "p7@contoso.com", "Newsletter", "yes", "2026-03-01", *(["x"] * 300)])
    run = run_import(source, csv_bytes(rows))
    assert run.status == ImportRun.Status.FAILED
    assert run.error == "Row 8 has 305 columns; the limit is 200."
    assert not ImportedConsent.objects.exists()
