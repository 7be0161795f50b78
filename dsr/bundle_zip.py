"""The files of an export bundle (dsr.bundles): the ZIP with a summary in words (HTML and PDF)
first, then JSON, CSV, XLSX and a README."""

from __future__ import annotations

import csv
import io
import json
import textwrap
import zipfile
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from consent.receipts.serialize import record_receipts
from core.files import written_whole
from core.languages import in_language
from core.xlsx import FORMULA_START, write_workbook_sheets
from dsr.models import ExportBundle
from dsr.package_pdf import summary_pdf
from dsr.package_summary import summary_context, summary_html

SUMMARY_HTML, SUMMARY_PDF = "summary.html", "summary.pdf"
RECEIPTS = "consent-receipts.jsonld"
CONSENT_RECORDS = "consent.consentchange"  # the section whose rows the receipts prove


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


def _words(value):
    """A yes/no answer reads as one in the CSV and the workbook (the JSON keeps true/false)."""
    return (_("yes") if value else _("no")) if isinstance(value, bool) else value


def _header(section: dict, columns: list[str]) -> list[str]:
    """Column headings in words; a snapshot from before headings existed keeps its keys."""
    words = section.get("headings") or {}
    return [words.get(c, c) for c in columns]


def columns_of(rows: list[dict]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def _readme(bundle: ExportBundle, sections: list[dict]) -> str:
    held = timezone.localtime(bundle.released_at or timezone.now())
    paragraphs = [
        _("Your data, as held on %(when)s") % {"when": f"{held:%Y-%m-%d %H:%M %Z}"},
        _("Request: %(ref)s") % {"ref": bundle.request.reference},
        "",
        _(
            "Start with %(html)s (or %(pdf)s): what we use your data for, who receives it, how long "
            "we keep it, where it came from, and your rights."
        )
        % {"html": SUMMARY_HTML, "pdf": SUMMARY_PDF},
        "",
        _(
            "Every kind of record is in three forms: <name>.json (machine-readable, GDPR Art. 20), "
            "<name>.csv, and one sheet of data.xlsx. Dates and times are ISO 8601 in your time zone "
            "(%(zone)s); numbers link records to each other (for example contact_id), and the column "
            "beside a number or code gives it in words. schema.json lists every file, its fields and "
            "their headings."
        )
        % {"zone": _zone(sections)},
        "",
    ]
    # Wrapped here, not in the msgid: a translation is one paragraph, however long its words.
    lines = [line for text in paragraphs for line in (textwrap.wrap(text, 92) or [""])]
    for section in sections:
        lines.append(
            _("%(file)s: %(title)s, %(count)d records")
            % {"file": section["section"], "title": section["title"], "count": len(section["rows"])}
        )
    lines += [
        "",
        _("%(file)s: your consents as consent receipts in the ISO/IEC TS 27560 format (JSON-LD)")
        % {"file": RECEIPTS},
    ]
    if bundle.redactions:
        left_out = ngettext(
            "%(count)d item was left out; the reason is in redactions.json.",
            "%(count)d items were left out; the reasons are in redactions.json.",
            len(bundle.redactions),
        ) % {"count": len(bundle.redactions)}
        lines += ["", left_out]
    return "\n".join(lines) + "\n"


def _zone(sections: list[dict]) -> str:
    return next(
        (s["time_zone"] for s in sections if s.get("time_zone")), str(timezone.get_default_timezone())
    )


def zip_write(bundle: ExportBundle, sections: list[dict], target: Path) -> Path:
    """The ZIP the person downloads: the summary first, README, schema, JSON and CSV per section,
    one XLSX."""
    with in_language(*bundle.request.person_languages()):  # the summary speaks the person's language
        context = summary_context(bundle, sections)
        summary = summary_html(context), summary_pdf(context)
    with written_whole(target) as out, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SUMMARY_HTML, summary[0])
        archive.writestr(SUMMARY_PDF, summary[1])
        archive.writestr("README.txt", _readme(bundle, sections))
        schema = [
            {
                "file": s["section"],
                "title": s["title"],
                "fields": columns_of(s["rows"]),
                "headings": _header(s, columns_of(s["rows"])),
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
            writer.writerow([_csv_text(h) for h in _header(section, columns)])
            writer.writerows([_csv_text(_words(row.get(c))) for c in columns] for row in rows)
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
                    _header(s, columns_of(s["rows"])),
                    ([_xlsx_value(_words(row.get(c))) for c in columns_of(s["rows"])] for row in s["rows"]),
                )
                for s in sections
                if s["rows"]
            ),
        )
        archive.writestr("data.xlsx", workbook.getvalue())
        archive.writestr(RECEIPTS, json.dumps(_receipts(sections), indent=2, ensure_ascii=False))
    return target


def _receipts(sections: list[dict]) -> dict:
    """The receipts of the consent change records the package holds (a redacted record has none)."""
    ids = [row["id"] for s in sections if s["section"] == CONSENT_RECORDS for row in s["rows"] if "id" in row]
    return record_receipts(ids)


def _xlsx_value(value):
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
