"""The audit export: the consent change records as the admin writes them to xlsx."""

from __future__ import annotations

import tempfile

from openpyxl import Workbook

from bench.measurements.common import Result, peak_mib, timed
from consent.admin import ConsentChangeAdmin
from consent.models import ConsentChange
from core.xlsx import write_workbook


def audit_export(repeat: int, limit: int) -> list[Result]:
    """The consent change export as the admin writes it vs raw openpyxl writing the same rows."""
    from django.contrib.admin.sites import site

    model_admin = ConsentChangeAdmin(ConsentChange, site)
    queryset = ConsentChange.objects.order_by("pk")[:limit]
    header = model_admin.export_header(None)

    def product():
        with tempfile.TemporaryFile() as spool:
            return write_workbook(
                spool,
                title="Consent change records",
                header=header,
                rows=model_admin.export_rows(None, queryset),
            )

    rows_in_memory = list(model_admin.export_rows(None, queryset))

    def baseline():
        with tempfile.TemporaryFile() as spool:
            book = Workbook(write_only=True)
            sheet = book.create_sheet("Consent change records")
            sheet.append(header)
            for row in rows_in_memory:
                sheet.append(
                    [v.replace(tzinfo=None) if hasattr(v, "tzinfo") and v.tzinfo else v for v in row]
                )
            book.save(spool)
            return len(rows_in_memory)

    product_s, rows = timed(product, repeat)
    baseline_s, _ = timed(baseline, repeat)
    extra = {
        "rows": rows,
        "rows_per_s": round(rows / product_s) if product_s else None,
        "baseline_rows_per_s": round(rows / baseline_s) if baseline_s else None,
        "peak_mib": peak_mib(product),
        "baseline_peak_mib": peak_mib(baseline),
    }
    return [Result("audit export (xlsx)", rows, product_s, baseline_s, extra=extra)]
