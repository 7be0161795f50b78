"""Finding a person inside files: ZIP members, XLSX sheets, CSV, JSON and plain text.

Shared by the residue scan (which walks every file under the product's folders) and by the file
finders of the personal-data registry (which ask "does this export or upload name the person?").
A file is read as records: a CSV line, a sheet row, a JSON object; a name counts only when its
first and last part appear in one record, so another "Anna" is not taken for the person.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MIN_NAME_PART = 2  # a one-letter "name" would match half the database
# Database files are scanned as tables (their free pages are the database's business), and static
# files are the product's own.
SKIPPED_SUFFIXES = (".sqlite3", ".sqlite3-journal", ".sqlite3-wal", ".sqlite3-shm", ".db")
_CELL_SPLIT = re.compile(r"[,;\t|]")
_PHONEISH = re.compile(r"^[+\d\s()./-]{6,}$")
_NON_DIGITS = re.compile(r"\D")


@dataclass
class Identity:
    """What to look for. Held in memory only, for the length of one erasure."""

    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    username: str = ""  # for staff accounts


def record_mentions(cells: Iterable, identity: Identity) -> set[str]:
    """What of the identity ("email", "phone", "name", "username") one record holds."""
    texts = [str(c) for c in cells if c not in (None, "")]
    joined = "\n".join(texts).lower()
    found = set()
    for label, value in (("email", identity.email), ("username", identity.username)):
        if value and value.lower() in joined:
            found.add(label)
    if identity.phone and _has_phone(texts, joined, identity.phone):
        found.add("phone")
    first, last = identity.first_name.strip().lower(), identity.last_name.strip().lower()
    if len(first) >= MIN_NAME_PART and len(last) >= MIN_NAME_PART and first in joined and last in joined:
        found.add("name")
    return found


def _has_phone(texts: list[str], joined: str, phone: str) -> bool:
    if phone.lower() in joined:
        return True
    # The number as people write it ("030 901820"): any phone-like cell that normalises to it.
    tail = _NON_DIGITS.sub("", phone)[-6:]
    for text in texts:
        candidate = text.strip()
        if _PHONEISH.match(candidate) and _NON_DIGITS.sub("", candidate).endswith(tail):
            from django.core.exceptions import ValidationError

            from core.normalize import normalize_phone

            try:
                if normalize_phone(candidate) == phone:
                    return True
            except ValidationError:
                continue
    return False


# --- reading files as records --------------------------------------------------------------------


def records(name: str, data: bytes | None = None, *, path: Path | None = None) -> Iterator[tuple[str, list]]:
    """(member, cells) for every record of a file, looking inside ZIP archives and workbooks.

    `member` is "" for the file itself, or the path inside the archive."""
    if data is None:
        assert path is not None
        with path.open("rb") as handle:
            head = handle.read(4)
        if head.startswith(b"PK\x03\x04"):
            yield from _zip_records(path, name)
            return
        suffix = name.lower().rsplit(".", 1)[-1]
        if suffix == "json" or name.endswith("snapshot.json.partial"):
            data = path.read_bytes()
        else:
            with path.open("rb") as handle:
                for line in handle:
                    yield "", _cells(_decode(line))
            return
    if data.startswith(b"PK\x03\x04"):
        yield from _zip_records(io.BytesIO(data), name)
        return
    if name.lower().endswith((".json", ".json.partial")):
        try:
            document = json.loads(data)
        except ValueError:
            pass
        else:
            for record in _json_records(document):
                yield "", record
            return
    for line in _decode(data).splitlines():
        yield "", _cells(line)


def _decode(data: bytes) -> str:
    """UTF-8, or Latin-1 for what older systems export (it decodes any byte)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _cells(line: str) -> list[str]:
    return [line, *_CELL_SPLIT.split(line)]


def _json_records(value) -> Iterator[list]:
    """Each object's plain values are one record; nested objects are records of their own."""
    if isinstance(value, dict):
        plain = [v for v in value.values() if not isinstance(v, dict | list)]
        if plain:
            yield plain
        for v in value.values():
            if isinstance(v, dict | list):
                yield from _json_records(v)
    elif isinstance(value, list):
        plain = [v for v in value if not isinstance(v, dict | list)]
        if plain:
            yield plain
        for v in value:
            if isinstance(v, dict | list):
                yield from _json_records(v)
    elif value is not None:
        yield [value]


def _zip_records(source, name: str) -> Iterator[tuple[str, list]]:
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        data = source.getvalue() if isinstance(source, io.BytesIO) else Path(source).read_bytes()
        for line in data.decode("utf-8", "replace").splitlines():
            yield "", _cells(line)
        return
    with archive:
        names = set(archive.namelist())
        if "[Content_Types].xml" in names and any(n.startswith("xl/worksheets/") for n in names):
            yield from _workbook_records(archive, source)
            return
        for member in archive.infolist():
            if member.is_dir():
                continue
            for inner, cells in records(member.filename, archive.read(member)):
                yield (f"{member.filename}!{inner}" if inner else member.filename), cells


def _workbook_records(archive: zipfile.ZipFile, source) -> Iterator[tuple[str, list]]:
    """Sheet rows through openpyxl (shared strings resolved); the raw XML if openpyxl refuses it."""
    from openpyxl import load_workbook

    if isinstance(source, io.BytesIO):
        source.seek(0)
    try:
        workbook = load_workbook(source, read_only=True, data_only=False)
    except Exception:  # a damaged workbook is still read, as text
        for member in archive.infolist():
            if member.filename.endswith(".xml"):
                text = archive.read(member).decode("utf-8", "replace")
                for chunk in re.split(r"</row>", text):
                    yield member.filename, [re.sub(r"<[^>]+>", " ", chunk)]
        return
    try:
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()
            for row in sheet.iter_rows(values_only=True):
                yield f"sheet {sheet.title}", list(row)
    finally:
        workbook.close()


# --- one file ------------------------------------------------------------------------------------


def file_hits(path: Path, identities: list[Identity]) -> Counter:
    """(member, what) → how many records of the file name the person."""
    hits: Counter = Counter()
    for member, cells in records(path.name, path=path):
        for identity in identities:
            for what in record_mentions(cells, identity):
                hits[(member, what)] += 1
    return hits


def file_mentions(path: Path, identities: list[Identity]) -> bool:
    """True when the file names any of these people (stops at the first record that does).

    A file that cannot be read counts as naming them: for an erasure, the safe side is to treat
    it as the person's (it is withdrawn or rewritten) rather than to leave it unread. Erasure asks
    this inside its transaction, so a quick pass over the raw bytes (archives inflated) rules out
    most files before any record is parsed."""
    if not path.is_file():
        return False
    try:
        if not _might_mention(path, identities):
            return False
        for _member, cells in records(path.name, path=path):
            if any(record_mentions(cells, identity) for identity in identities):
                return True
    except Exception:  # damaged archives raise many types (zlib, zipfile, openpyxl)
        return True
    return False


_SEPARATORS = re.compile(r"[\s()./-]+")
CHUNK = 4 * 1024 * 1024


def _needles(identities: list[Identity]) -> tuple[set[str], set[str]]:
    """What any mention must contain, lower-cased: (plain texts, phone digits without separators).

    An email or username appears as itself; a name needs its last part; a phone, however it is
    written, contains its national number once spaces, dots, dashes and brackets are removed."""
    plain, digits = set(), set()
    for identity in identities:
        for value in (identity.email, identity.username):
            if value:
                plain.add(value.lower())
        last = identity.last_name.strip().lower()
        if len(last) >= MIN_NAME_PART and len(identity.first_name.strip()) >= MIN_NAME_PART:
            plain.add(last)
        if identity.phone:
            import phonenumbers

            try:
                digits.add(str(phonenumbers.parse(identity.phone, None).national_number))
            except phonenumbers.NumberParseException:
                digits.add(_NON_DIGITS.sub("", identity.phone))
    return plain, digits


def _raw_texts(source, depth: int = 0) -> Iterator[str]:
    """The file's bytes as text in overlapping chunks, archive members inflated (two levels)."""
    head = source.read(4) if hasattr(source, "read") else b""
    source.seek(0)
    if head.startswith(b"PK\x03\x04") and depth < 2:
        with zipfile.ZipFile(source) as archive:
            for member in archive.infolist():
                with archive.open(member) as inner:
                    data = inner.read()  # members are bounded by the product's own writers
                yield from _raw_texts(io.BytesIO(data), depth + 1)
        return
    tail = b""
    while chunk := source.read(CHUNK):
        block = tail + chunk
        # UTF-8 for what the product writes; Latin-1 too for uploads from older systems (a name
        # with an umlaut is one byte there).
        yield block.decode("utf-8", "replace").lower()
        yield block.decode("latin-1").lower()
        tail = block[-512:]


def _might_mention(path: Path, identities: list[Identity]) -> bool:
    plain, digits = _needles(identities)
    with path.open("rb") as handle:
        for text in _raw_texts(handle):
            if any(needle in text for needle in plain):
                return True
            if digits and any(d in _SEPARATORS.sub("", text) for d in digits):
                return True
    return False


def walk(root: Path, *, skip: Iterable[Path] = ()) -> Iterator[Path]:
    """Every regular file under root, without following links out of it."""
    skipped = [s.resolve() for s in skip]
    root = root.resolve()
    if not root.is_dir():
        return
    stack = [root]
    while stack:
        folder = stack.pop()
        if any(folder == s or s in folder.parents for s in skipped):
            continue
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                stack.append(entry)
            elif entry.is_file() and not entry.name.endswith(SKIPPED_SUFFIXES):
                yield entry
