"""The breach as the supervisory authority asks for it (GDPR Art. 33(3)-(5)): XLSX and PDF with
the same fields in the same order. Counts of the people notified, never who they are."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from django.http import FileResponse, HttpResponse
from django.utils import timezone

from breaches.clock import breach_clock
from breaches.models import Breach, BreachNotice
from core.pdf import fields_pdf
from core.xlsx import xlsx_response

NONE = "—"


def _or_none(value):
    return NONE if value in (None, "") else value


def _notices(breach: Breach) -> str:
    if breach.pk is None:
        return "No notices"
    rows = BreachNotice.objects.filter(breach=breach).values("withheld").annotate(n=Count("id"))
    by_code = {row["withheld"]: row["n"] for row in rows}
    sent = BreachNotice.objects.filter(breach=breach, sent_at__isnull=False).count()
    if not by_code:
        return "No notices"
    labels = dict(BreachNotice.WITHHELD_CHOICES)
    withheld = [f"{n} withheld: {labels.get(code, code)}" for code, n in sorted(by_code.items()) if code]
    return "; ".join([f"{sent} of {by_code.get('', 0)} emails sent", *withheld])


def authority_sections(breach: Breach) -> list[tuple[str, list[tuple[str, object]]]]:
    """The register's record of one breach, by section, each field labelled as Art. 33 names it."""
    clock = breach_clock(breach)
    return [
        (
            "The breach",
            [
                ("Reference", breach.reference),
                ("Summary", breach.summary),
                ("Discovered", breach.discovered_at),
                ("Occurred", _or_none(breach.occurred_at)),
                ("Nature of the breach (Art. 33(3)(a))", breach.nature),
                ("Categories of people concerned", breach.people_categories),
                ("Approximate number of people", breach.people_count),
                ("Categories of personal data records", breach.data_categories),
                ("Approximate number of records", breach.records_count),
            ],
        ),
        (
            "Effects and action",
            [
                ("Contact point (Art. 33(3)(b))", breach.dpo_contact),
                ("Likely consequences (Art. 33(3)(c))", breach.consequences),
                ("Measures taken or proposed (Art. 33(3)(d))", breach.measures),
                ("Risk assessment", breach.get_risk_display()),
            ],
        ),
        (
            "Notification",
            [
                ("Deadline (72 hours after discovery)", breach.authority_due_at),
                ("72-hour clock", clock.text),
                ("Authority notified", _or_none(breach.authority_notified_at)),
                ("Authority's reference", _or_none(breach.authority_reference)),
                ("Reasons for the delay (Art. 33(1))", _or_none(breach.delay_reasons)),
                ("People notified (Art. 34)", _or_none(breach.people_notified_at)),
                ("Words for the people affected (Art. 34(2))", _or_none(breach.people_notice)),
                ("Notices to the people affected", _notices(breach)),
            ],
        ),
    ]


def register_header() -> list[str]:
    """The register's columns: the fields of the export for the authority, in its order."""
    blank = Breach(discovered_at=timezone.now())
    return [label for _section, fields in authority_sections(blank) for label, _value in fields]


def register_rows(breaches) -> Iterator[list]:
    """One row per breach (Art. 33(5): the register documents every breach, notified or not).
    A few queries per breach: a register holds tens of breaches, not millions."""
    for breach in breaches.iterator():
        yield [value for _section, fields in authority_sections(breach) for _label, value in fields]


def authority_xlsx(breach: Breach) -> FileResponse:
    """One sheet, a row per field (Section, Field, Value), formula-safe (core.xlsx)."""
    rows = [
        (section, label, value) for section, fields in authority_sections(breach) for label, value in fields
    ]
    return xlsx_response(
        filename=f"breach-{breach.reference}.xlsx",
        title=breach.reference,
        header=["Section", "Field", "Value"],
        rows=rows,
    )


def authority_pdf(breach: Breach) -> HttpResponse:
    content = fields_pdf(
        title=f"Personal data breach {breach.reference} (GDPR Art. 33)", sections=authority_sections(breach)
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="breach-{breach.reference}.pdf"'
    return response
