"""System checks of the request laws (dsr.jurisdictions): a misconfiguration fails at start-up,
not when the first request arrives."""

from django.conf import settings
from django.core import checks

from dsr.jurisdictions import LAWS


@checks.register()
def check_jurisdictions(app_configs=None, **kwargs):
    errors = []
    if settings.DSR_DEFAULT_JURISDICTION not in LAWS:
        errors.append(
            checks.Error(
                f"DSR_DEFAULT_JURISDICTION is {settings.DSR_DEFAULT_JURISDICTION!r}, not a known law.",
                hint=f"Use one of {', '.join(LAWS)} (dsr/jurisdictions.py).",
                id="dsr.E010",
            )
        )
    for law in LAWS.values():
        periods = (law.answer, law.acknowledge, law.extension)
        if any(p and p.unit == "business_days" for p in periods) and law.holiday_calendar is None:
            errors.append(
                checks.Error(
                    f"The law {law.code} counts business days but names no holiday calendar.", id="dsr.E011"
                )
            )
    return errors
