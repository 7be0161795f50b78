"""System checks of the request laws (dsr.jurisdictions): a misconfiguration fails at start-up,
not when the first request arrives."""

import holidays
from django.conf import settings
from django.core import checks

from dsr.jurisdictions import LAWS, law_holidays


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
    country, subdivision = law_holidays(LAWS["gdpr"])  # the controller's calendar (DSR_HOLIDAY_CALENDAR)
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError as error:
        errors.append(
            checks.Error(
                f"DSR_HOLIDAY_CALENDAR is {settings.DSR_HOLIDAY_CALENDAR!r}: {error}",
                hint='A country code of the holidays package, optionally with a subdivision ("DE-BY").',
                id="dsr.E012",
            )
        )
    return errors
