"""Reading consent exports (CSV or XLSX) as rows of text, within bounded memory and time.

Everything a cell holds is read as text: an Excel formula is its text ("=1+1"), never evaluated.
Limits (size, columns, cell length, rows, zip members) refuse a whole file with FileRefused and a
message a privacy officer understands; row-level problems are the importer's business.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

SNIFF_BYTES = 64 * 1024
CSV_DELIMITERS = ",;\t|"
# Tried in this order when the file has no byte order mark: UTF-8 is strict, so a file that
# decodes as UTF-8 is UTF-8; cp1252 (Excel on Windows) next; latin-1 decodes anything.
FALLBACK_ENCODINGS = ("utf-8", "cp1252", "latin-1")
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class FileRefused(Exception):
    """The file cannot be read at all, or breaks a limit; nothing of it is imported."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_columns: int
    max_cell_chars: int
    max_rows: int
    max_uncompressed_bytes: int  # XLSX: all zip members together, as declared
    max_zip_members: int = 1000

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_bytes=settings.IMPORT_MAX_FILE_MB * 1024 * 1024,
            max_columns=settings.IMPORT_MAX_COLUMNS,
            max_cell_chars=settings.IMPORT_MAX_CELL_CHARS,
            max_rows=settings.IMPORT_MAX_ROWS,
            max_uncompressed_bytes=settings.IMPORT_MAX_UNCOMPRESSED_MB * 1024 * 1024,
        )


@dataclass
class Table:
    """A header and an iterator of (row number as the user sees it, cells as text)."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    kind: str  # "csv" or "xlsx"
    detail: str = ""  # e.g. "utf-8, ';'" for the report


def open_table(path: str | Path, *, limits: Limits | None = None) -> Table:
    """Open a CSV or XLSX file (told apart by content, not by name) for reading."""
    limits = limits or Limits.from_settings()
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise FileRefused(_("The file cannot be opened.")) from None
    if size > limits.max_bytes:
        raise FileRefused(
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": round(size / 1024 / 1024, 1), "limit": limits.max_bytes // 1024 // 1024}
        )
    if size == 0:
        raise FileRefused(_("The file is empty."))
    with path.open("rb") as probe:
        start = probe.read(4)
    if start.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, limits)
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(_("This is an old Excel file (.xls). Save it as .xlsx or CSV and upload again."))
    return _open_csv(path, limits)


# --- CSV ---------------------------------------------------------------------------------------


def _detect_encoding(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(4)
        for bom, encoding in BOMS:
            if head.startswith(bom):
                return encoding
        # Without a BOM, decode the whole file incrementally (constant memory) to pick the first
        # encoding that fits; cp1252 leaves five bytes undefined, latin-1 none.
        for encoding in FALLBACK_ENCODINGS:
            handle.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                while chunk := handle.read(1024 * 1024):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
                return encoding
            except UnicodeDecodeError:
                continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _bounded_lines(stream, max_chars: int) -> Iterator[str]:
    """Physical lines, refusing one longer than max_chars before it is held whole in memory."""
    while True:
        line = stream.readline(max_chars + 1)
        if not line:
            return
        if len(line) > max_chars:
            raise FileRefused(
                _("A line of the file is longer than %(limit)s characters; is it really a CSV export?")
                % {"limit": max_chars}
            )
        yield line


def _sniff_delimiter(sample: str) -> str:
    # Judge on whole lines only: a cut-off last line would confuse the sniffer.
    if "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        counts = {d: first.count(d) for d in CSV_DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _open_csv(path: Path, limits: Limits) -> Table:
    encoding = _detect_encoding(path)
    max_line = limits.max_columns * (limits.max_cell_chars + 3)
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(SNIFF_BYTES)
    if "\x00" in sample:
        raise FileRefused(_("The file is not a CSV or XLSX export (it holds binary data)."))
    delimiter = _sniff_delimiter(sample)

    def reader() -> Iterator[list[str]]:
        # The limit is process-wide in the csv module; ours is the strictest any import uses.
        csv.field_size_limit(limits.max_cell_chars + 1)
        with path.open(encoding=encoding, newline="") as handle:
            try:
                yield from csv.reader(_bounded_lines(handle, max_line), delimiter=delimiter, strict=False)
            except csv.Error as error:
                if "field larger than field limit" in str(error):
                    raise FileRefused(
                        _("A cell is longer than %(limit)s characters.") % {"limit": limits.max_cell_chars}
                    ) from None
                raise FileRefused(_("The CSV file cannot be read: %(error)s") % {"error": error}) from None

    return _table(reader(), limits, kind="csv", detail=f"{encoding}, {delimiter!r}")


# --- XLSX --------------------------------------------------------------------------------------


def _check_zip(path: Path, limits: Limits) -> None:
    """Refuse zip bombs before openpyxl inflates anything: declared sizes are what zipfile will
    ever produce (it stops at the declared size and checks the CRC), so summing them bounds memory."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FileRefused(_("The file looks like an Excel file but is damaged.")) from None
    if len(members) > limits.max_zip_members:
        raise FileRefused(_("The Excel file has too many parts to be a plain export."))
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        raise FileRefused(
            _("The Excel file unpacks to more than %(limit)s MB; split it or export it as CSV.")
            % {"limit": limits.max_uncompressed_bytes // 1024 // 1024}
        )
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/worksheets/") for n in names):
        raise FileRefused(_("The file is a zip archive but not an Excel workbook (.xlsx)."))


def _text(value) -> str:
    """A cell value as the text a person would read in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _open_xlsx(path: Path, limits: Limits) -> Table:
    from openpyxl import load_workbook

    _check_zip(path, limits)
    try:
        # read_only streams the sheet; data_only=False gives a formula's text, never a result.
        workbook = load_workbook(path, read_only=True, data_only=False, keep_links=False)
        sheet = workbook.worksheets[0]
    except Exception as error:  # openpyxl raises many types for a broken workbook
        raise FileRefused(
            _("The Excel file cannot be read (%(error)s).") % {"error": type(error).__name__}
        ) from None
    # A forged <dimension> would make every row as wide as it claims: ignore it.
    sheet.reset_dimensions()

    def reader() -> Iterator[list[str]]:
        try:
            for row in sheet.iter_rows(values_only=True):
                yield [_text(v) for v in row]
        except FileRefused:
            raise
        except Exception as error:
            raise FileRefused(
                _("The Excel file cannot be read (%(error)s).") % {"error": type(error).__name__}
            ) from None
        finally:
            workbook.close()

    return _table(reader(), limits, kind="xlsx", detail=sheet.title)


# --- both --------------------------------------------------------------------------------------


def _table(records: Iterator[list[str]], limits: Limits, *, kind: str, detail: str) -> Table:
    def checked(record: list[str], number: int) -> list[str]:
        while record and not str(record[-1]).strip():
            record = record[:-1]  # trailing empty cells are not columns
        if len(record) > limits.max_columns:
            raise FileRefused(
                _("Row %(row)s has %(count)s columns; the limit is %(limit)s.")
                % {"row": number, "count": len(record), "limit": limits.max_columns}
            )
        for cell in record:
            if len(cell) > limits.max_cell_chars:
                raise FileRefused(
                    _("Row %(row)s has a cell longer than %(limit)s characters.")
                    % {"row": number, "limit": limits.max_cell_chars}
                )
        return record

    header: list[str] | None = None
    number = 0
    for record in records:
        number += 1
        record = checked(record, number)
        if any(c.strip() for c in record):
            header = [c.strip().lstrip("\ufeff") for c in record]
            break
    if header is None:
        raise FileRefused(_("The file has no header row."))

    def rows() -> Iterator[tuple[int, list[str]]]:
        nonlocal number
        data = 0
        for record in records:
            number += 1
            record = checked(record, number)
            if not any(c.strip() for c in record):
                continue  # blank lines are not rows
            data += 1
            if data > limits.max_rows:
                raise FileRefused(
                    _("The file has more than %(limit)s rows; split it.") % {"limit": limits.max_rows}
                )
            yield number, record

    return Table(header=header, rows=rows(), kind=kind, detail=detail)


def sha256_of(path: str | Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
