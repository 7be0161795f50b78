"""The files of an export bundle (dsr.bundles): the ZIP with JSON, CSV, XLSX and a README."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from django.utils import timezone

from core.files import written_whole
from core.xlsx import FORMULA_START, write_workbook_sheets
from dsr.models import ExportBundle


def _csv_text(value) -> str:
    """CSV opened in a spreadsheet must not run formulas: risky text gets a leading apostrophe."""
    if value is None:
        return ""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value)
        if isinstance(value, dict | list)
        else str(value)
    )
    return "'" + text if FORMULA_START.match(text) else text


def columns_of(rows: list[dict]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def _readme(bundle: ExportBundle, sections: list[dict]) -> str:
    lines = [
        f"Your data, as held on {timezone.localtime(bundle.released_at or timezone.now()):%Y-%m-%d %H:%M %Z}",
        f"Request: {bundle.request.reference}",
        "",
        "Every kind of record is in three forms: <name>.json (machine-readable, GDPR Art. 20),",
        "<name>.csv, and one sheet of data.xlsx. Dates and times are ISO 8601; ids link records",
        "to each other (for example contact_id). schema.json lists every file and its fields.",
        "",
    ]
    for section in sections:
        lines.append(f"{section['section']}: {section['title']}, {len(section['rows'])} records")
    if bundle.redactions:
        lines += ["", f"{len(bundle.redactions)} items were left out; the reasons are in redactions.json."]
    return "\n".join(lines) + "\n"


def zip_write(bundle: ExportBundle, sections: list[dict], target: Path) -> Path:
    """The ZIP the person downloads: README, schema, JSON and CSV per section, one XLSX."""
    with written_whole(target) as out, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(bundle, sections))
        schema = [
            {
                "file": s["section"],
                "title": s["title"],
                "fields": columns_of(s["rows"]),
                "records": len(s["rows"]),
            }
            for s in sections
        ]
        archive.writestr("schema.json", json.dumps(schema, indent=2, ensure_ascii=False))
        for section in sections:
            name, rows = section["section"], section["rows"]
            archive.writestr(f"{name}.json", json.dumps(rows, indent=2, ensure_ascii=False))
            out = io.StringIO()
            writer = csv.writer(out)
            columns = columns_of(rows)
            writer.writerow(columns)
            writer.writerows([_csv_text(row.get(c)) for c in columns] for row in rows)
            archive.writestr(f"{name}.csv", out.getvalue())
        if bundle.redactions:
            archive.writestr(
                "redactions.json",
                json.dumps(
                    [{"file": r["section"], "reason": r["reason"]} for r in bundle.redactions], indent=2
                ),
            )
        workbook = io.BytesIO()
        write_workbook_sheets(
            workbook,
            (
                (
                    s["title"][:31],
                    columns_of(s["rows"]),
                    ([_xlsx_value(row.get(c)) for c in columns_of(s["rows"])] for row in s["rows"]),
                )
                for s in sections
                if s["rows"]
            ),
        )
        archive.writestr("data.xlsx", workbook.getvalue())
    return target


def _xlsx_value(value):
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
