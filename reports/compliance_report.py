"""The compliance report: what a privacy officer hands a regulator or an auditor for a period.

One XLSX: a summary with the audit chain's head and its verification (so a later check can prove
nothing before it changed), consent changes by source and value, every request with its timings
and deadline breaches, erasures (without personal data), what retention lapsed and erased per month
and rule, and the records of processing (Art. 30).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

from django.db.models import Count
from django.utils import timezone

from consent.audit_chain import latest_checkpoint, verify
from consent.models import ConsentChange, ConsentField, RetentionRun, Source
from core.pdf import numbered_pdf, pdf_text
from core.xlsx import write_workbook_sheets
from reports.processing_register import processing_activities


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def consent_changes_by_source(since, until) -> list[list]:
    rows = (
        ConsentChange.objects.filter(recorded_at__gte=since, recorded_at__lt=until)
        .values("source", "field", "purpose__name", "new_value")
        .annotate(n=Count("id"))
        .order_by("source", "field", "purpose__name", "new_value")
    )
    # In words, not codes: "Import", "Consent level", "3 Subscriptions" (ConsentChange's own labels).
    sources = {value: str(label) for value, label in Source.choices}
    return [
        [
            sources.get(r["source"], r["source"]),
            ConsentChange.describe_field(r["field"], None),
            r["purpose__name"] or "",
            ConsentChange.describe_value(r["field"], r["new_value"]),
            r["n"],
        ]
        for r in rows
    ]


def _days(start, end) -> float | None:
    return round((end - start).total_seconds() / 86400, 1) if start and end else None


def requests_in_period(since, until) -> tuple[list[list], list[list]]:
    """Each request received in the period (no requester data), and a summary per type."""
    from dsr.models import DataSubjectRequest

    now = timezone.now()
    rows, by_kind = [], defaultdict(lambda: {"received": 0, "completed": 0, "days": [], "breached": 0})
    requests = DataSubjectRequest.objects.filter(received_at__gte=since, received_at__lt=until).order_by(
        "received_at"
    )
    for r in requests.iterator():
        end, clock = r.closed_at or now, r.clock  # the deadline under the request's law (dsr.clocks)
        breached = end > clock.deadline
        days = _days(r.received_at, r.closed_at)
        rows.append(
            [
                r.reference,
                r.get_kind_display(),
                r.get_channel_display(),
                str(clock.law.name),
                r.get_status_display(),
                r.received_at,
                r.verified_at,
                clock.deadline,
                r.closed_at,
                days,
                "yes" if breached else "no",
            ]
        )
        summary = by_kind[r.get_kind_display()]
        summary["received"] += 1
        summary["breached"] += breached
        if r.status == DataSubjectRequest.Status.COMPLETED:
            summary["completed"] += 1
            summary["days"].append(days)
    summary_rows = [
        [
            kind,
            s["received"],
            s["completed"],
            statistics.median(s["days"]) if s["days"] else None,
            s["breached"],
        ]
        for kind, s in sorted(by_kind.items())
    ]
    return rows, summary_rows


def erasures_in_period(since, until) -> list[list]:
    from dsr.models import ErasureRecord

    records = ErasureRecord.objects.filter(performed_at__gte=since, performed_at__lt=until).select_related(
        "request"
    )
    return [
        [
            e.performed_at,
            e.request.reference
            if e.request
            else f"retention: {e.retention_rule}"
            if e.retention_rule
            else "",
            e.contacts_erased,
            ", ".join(f"{name}: {n}" for name, n in e.receipt.get("deleted", {}).items()),
            ", ".join(e.receipt.get("anonymised", {})) or "",
            {True: "clean", False: "data left", None: "pending" if e.residue_pending else "not run"}[
                e.residue_clean
            ],
        ]
        for e in records.order_by("performed_at")
    ]


KIND_NAMES = {"purpose": "Purpose", "list": "Subscription list"}
RETENTION_COLUMNS = ["Month", "Kind", "Purpose or list", "Consents lapsed", "Contacts erased"]


def retention_in_period(since, until) -> list[list]:
    """Per month and rule, the consents the retention job withdrew and the contacts it erased.

    Purposes' lapses are counted from their consent change records (source "retention", kept as
    proof after an erasure); erasures from the erasure records naming a rule. A list's lapse is
    recorded in the subscription's history, which the person's later erasure purges: its count
    comes from the job's run, committed with each batch (consent.lapse).
    """
    from dsr.models import ErasureRecord

    figures: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])

    def month(moment) -> str:
        return f"{timezone.localtime(moment):%Y-%m}"

    lapsed = ConsentChange.objects.filter(
        source=Source.RETENTION, field=ConsentField.PURPOSE, recorded_at__gte=since, recorded_at__lt=until
    )
    for at, name in lapsed.values_list("recorded_at", "purpose__name").iterator():
        figures[(month(at), "purpose", name)][0] += 1
    runs = RetentionRun.objects.filter(started_at__gte=since, started_at__lt=until)
    for run in runs.only("started_at", "counts"):
        for entry in run.counts.values():
            if entry["kind"] != "purpose" and entry["lapsed"]:
                figures[(month(run.started_at), entry["kind"], entry["rule"])][0] += entry["lapsed"]
    erasures = ErasureRecord.objects.filter(
        performed_at__gte=since, performed_at__lt=until, receipt__has_key="retention"
    )
    for at, receipt, n in erasures.values_list("performed_at", "receipt", "contacts_erased"):
        rule = receipt["retention"]
        figures[(month(at), rule["kind"], rule["rule"])][1] += n
    return [
        [when, KIND_NAMES.get(kind, kind), rule, lapses, erased]
        for (when, kind, rule), (lapses, erased) in sorted(figures.items())
    ]


WAIVER_COLUMNS = ["Decided", "Request", "Downstream system", "Reason", "Decided by"]


def waivers_in_period(since, until) -> list[list]:
    """Requests closed without a downstream system's acknowledgement, and why (GDPR Art. 17(2), 19)."""
    from dsr.models import DownstreamWaiver

    waivers = DownstreamWaiver.objects.filter(decided_at__gte=since, decided_at__lt=until)
    return [
        [w.decided_at, w.request.reference, w.endpoint.name, w.reason, w.decided_by.get_username()]
        for w in waivers.select_related("request", "endpoint", "decided_by").order_by("decided_at")
    ]


def processing_records() -> list[list]:
    return [
        [
            kind,
            r.name,
            r.get_legal_basis_display(),
            r.data_categories,
            " ".join(r.retention_words()),
            r.recipients,
            r.description,
        ]
        for kind, r in processing_activities()
    ]


REQUEST_COLUMNS = [
    "Reference",
    "Type",
    "Received by",
    "Law",
    "Status",
    "Received",
    "Verified",
    "Deadline",
    "Closed",
    "Days to close",
    "Deadline breached",
]
REQUEST_SUMMARY_COLUMNS = ["Type", "Received", "Completed", "Median days to complete", "Breaches"]
ERASURE_COLUMNS = ["Performed", "Request", "Contacts", "Deleted", "Kept anonymised", "Residue scan"]
PROCESSING_COLUMNS = [
    "Kind",
    "Name",
    "Legal basis",
    "Data categories",
    "Retention",
    "Recipients",
    "Description",
]


def _checkpoint_line(checkpoint) -> str:
    if not checkpoint:
        return "none yet"
    return (
        f"{checkpoint.length} records, head {checkpoint.head_hash}, taken"
        f" {timezone.localtime(checkpoint.created_at):%Y-%m-%d %H:%M %Z}, signature {checkpoint.signature}"
    )


def compliance_report_data(*, start: dt.date, end: dt.date) -> tuple[dict, list[tuple[str, list, list]]]:
    """The report's summary and its tables (title, header, rows) for [start, end], local dates."""
    since, until = _bounds(start, end)
    chain = verify()
    changes = consent_changes_by_source(since, until)
    requests, request_summary = requests_in_period(since, until)
    erasures = erasures_in_period(since, until)
    waivers = waivers_in_period(since, until)
    retention = retention_in_period(since, until)
    summary = {
        "Period": f"{start.isoformat()} to {end.isoformat()}",
        "Generated": timezone.localtime().strftime("%Y-%m-%d %H:%M %Z"),
        "Audit chain head": chain.head,
        "Audit chain records checked": chain.checked,
        "Audit chain verification": chain.summary(),
        "Audit chain problems": chain.bad_count,
        "Latest signed checkpoint": _checkpoint_line(latest_checkpoint()),
        "Consent changes recorded": sum(r[-1] for r in changes),
        "Requests received": len(requests),
        "Requests past their deadline": sum(r[-1] == "yes" for r in requests),
        "Erasures": len(erasures),
        "Consents lapsed (retention)": sum(r[3] for r in retention),
        "Contacts erased (retention)": sum(r[4] for r in retention),
        "Downstream acknowledgements waived": len(waivers),
    }
    tables = [
        ("Summary", ["Item", "Value"], [[k, v] for k, v in summary.items()]),
        ("Consent changes", ["Source", "Field", "Purpose", "New value", "Records"], changes),
        ("Requests", REQUEST_COLUMNS, requests),
        ("Requests by type", REQUEST_SUMMARY_COLUMNS, request_summary),
        ("Erasures", ERASURE_COLUMNS, erasures),
        ("Retention", RETENTION_COLUMNS, retention),
        ("Waived acknowledgements", WAIVER_COLUMNS, waivers),
        ("Records of processing", PROCESSING_COLUMNS, processing_records()),
    ]
    return summary, tables


def compliance_report_write(fileobj, *, start: dt.date, end: dt.date) -> dict:
    """Write the report as XLSX, one sheet per table. Returns the summary figures."""
    summary, tables = compliance_report_data(start=start, end=end)
    write_workbook_sheets(fileobj, tables)
    return summary


KEEP_WITH_HEADING_MM = 30


def compliance_report_pdf(fileobj, *, start: dt.date, end: dt.date) -> dict:
    """The same report as a PDF (fpdf2, no network, no system fonts), a table per section."""
    summary, tables = compliance_report_data(start=start, end=end)
    pdf = numbered_pdf(orientation="L", format="A4")
    pdf.set_title(f"Compliance report {summary['Period']}")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(text=pdf_text(f"Compliance report, {summary['Period']}"), new_x="LMARGIN", new_y="NEXT")
    for title, header, rows in tables:
        # Never a heading alone at a page's foot: it starts the next page unless there is room
        # for it, the table's header and a first row.
        if pdf.get_y() > pdf.h - pdf.b_margin - KEEP_WITH_HEADING_MM:
            pdf.add_page()
        else:
            pdf.ln(4)
        pdf.set_font("Helvetica", style="B", size=12)
        pdf.cell(text=pdf_text(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=8)
        if not rows:
            pdf.cell(text="(none in this period)", new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(text_align="LEFT") as table:
            for line in [header, *rows]:
                row = table.row()
                for value in line:
                    row.cell(pdf_text(value))
    fileobj.write(pdf.output())
    return summary
