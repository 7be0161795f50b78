"""The laws a data-subject request can fall under, as data: one `Law` per jurisdiction.

A law fixes the rights offered on the public form, the acknowledgement and answer periods, the
extension and whether the clock waits for the requester's identity. dsr.clocks computes every date
from these values; nothing else branches on a law. A new law is one more entry in LAWS (and, when it
counts business days, a holiday calendar the `holidays` package knows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

ACCESS, EXPORT, RECTIFY, RESTRICT, ERASE = "access", "export", "rectify", "restrict", "erase"


@dataclass(frozen=True)
class Period:
    """A legal time limit: `amount` calendar months, calendar days or business days."""

    amount: int
    unit: Literal["months", "days", "business_days"]


@dataclass(frozen=True)
class Law:
    code: str
    name: str | Promise
    countries: tuple[str, ...]  # ISO 3166-1 alpha-2 of the people it covers
    rights: tuple[str, ...]  # DataSubjectRequest.Kind values offered on the public form
    answer: Period  # counted from receipt (or verification, see pauses_until_verified)
    answer_source: str | Promise
    acknowledge: Period | None = None  # None: the law sets no separate acknowledgement
    extension: Period | None = None  # added to the answer deadline; None: no extension allowed
    # The law lets the clock wait for the requester's identity; the organisation chooses to use
    # it with ComplianceSettings.request_clock_starts_at = "verification".
    pauses_until_verified: bool = False
    # (country, subdivision) for business days and rolled last days; None: the controller's
    # (settings.DSR_HOLIDAY_CALENDAR, see law_holidays).
    holiday_calendar: tuple[str, str | None] | None = None
    # Regulation 1182/71 Art. 3(4): a period whose last day is a public holiday, Saturday or Sunday
    # ends with the end of the next working day (the ICO applies the same to UK GDPR).
    last_day_rolls: bool = False
    # An authorised agent may make the request, with proof of authority; the person confirms it
    # directly with us (dsr.agents).
    agent_requests: bool = False


EEA = (
    *("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"),
    *("IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"),
    *("IS", "LI", "NO"),
)

LAWS: dict[str, Law] = {
    law.code: law
    for law in (
        Law(
            code="gdpr",
            name=_("GDPR (European Union and EEA)"),
            countries=EEA,
            rights=(ACCESS, EXPORT, RECTIFY, RESTRICT, ERASE),
            # Art. 12(3): one month of receipt, two further months if the person is told within the first.
            answer=Period(1, "months"),
            answer_source=_("GDPR Art. 12(3)"),
            extension=Period(2, "months"),
            pauses_until_verified=True,  # Art. 12(6); EDPB Guidelines 01/2022
            last_day_rolls=True,  # holidays: the controller's Member State (Reg. 1182/71 Art. 2(1))
        ),
        Law(
            code="uk_gdpr",
            name=_("UK GDPR (United Kingdom)"),
            countries=("GB",),
            rights=(ACCESS, EXPORT, RECTIFY, RESTRICT, ERASE),
            answer=Period(1, "months"),
            answer_source=_("UK GDPR Art. 12(3)"),
            extension=Period(2, "months"),
            pauses_until_verified=True,  # Data (Use and Access) Act 2025: the clock stops for ID
            holiday_calendar=("GB", None),
            last_day_rolls=True,
        ),
        Law(
            code="ccpa",
            name=_("CCPA/CPRA (California)"),
            countries=("US",),
            rights=(ACCESS, EXPORT, RECTIFY, ERASE),
            # Cal. Code Regs. tit. 11 § 7021: confirm within 10 business days, answer within 45
            # calendar days of receipt whatever the verification takes, one further 45 days.
            acknowledge=Period(10, "business_days"),
            answer=Period(45, "days"),
            answer_source=_("CCPA § 1798.130(a)(2); CCPA Regulations § 7021"),
            extension=Period(45, "days"),
            holiday_calendar=("US", "CA"),
            # Cal. Civ. Code § 1798.185(a)(7); CCPA Regulations § 7063.
            agent_requests=True,
        ),
        Law(
            code="lgpd",
            name=_("LGPD (Brazil)"),
            countries=("BR",),
            rights=(ACCESS, EXPORT, RECTIFY, RESTRICT, ERASE),
            # Art. 19(II): the full answer within 15 days of the request; no extension.
            answer=Period(15, "days"),
            answer_source=_("LGPD Art. 19(II)"),
            holiday_calendar=("BR", None),
        ),
    )
}

# The countries the public form lists, with the names people know them by.
COUNTRY_NAMES = {
    "AT": _("Austria"),
    "BE": _("Belgium"),
    "BR": _("Brazil"),
    "BG": _("Bulgaria"),
    "HR": _("Croatia"),
    "CY": _("Cyprus"),
    "CZ": _("Czechia"),
    "DK": _("Denmark"),
    "EE": _("Estonia"),
    "FI": _("Finland"),
    "FR": _("France"),
    "DE": _("Germany"),
    "GR": _("Greece"),
    "HU": _("Hungary"),
    "IS": _("Iceland"),
    "IE": _("Ireland"),
    "IT": _("Italy"),
    "LV": _("Latvia"),
    "LI": _("Liechtenstein"),
    "LT": _("Lithuania"),
    "LU": _("Luxembourg"),
    "MT": _("Malta"),
    "NL": _("Netherlands"),
    "NO": _("Norway"),
    "PL": _("Poland"),
    "PT": _("Portugal"),
    "RO": _("Romania"),
    "SK": _("Slovakia"),
    "SI": _("Slovenia"),
    "ES": _("Spain"),
    "SE": _("Sweden"),
    "GB": _("United Kingdom"),
    "US": _("United States (California)"),
}


def law_of(code: str) -> Law:
    """The law of a jurisdiction code; a code no law has is refused with a clear message."""
    try:
        return LAWS[code]
    except KeyError:
        raise ValidationError(_("Unknown jurisdiction “%(code)s”.") % {"code": code}) from None


def default_law() -> Law:
    """The jurisdiction of requests whose requester's country is not known (DSR_DEFAULT_JURISDICTION)."""
    code = settings.DSR_DEFAULT_JURISDICTION
    if code not in LAWS:
        raise ImproperlyConfigured(f"DSR_DEFAULT_JURISDICTION must be one of {', '.join(LAWS)}, got {code!r}")
    return LAWS[code]


def default_jurisdiction() -> str:
    return default_law().code


def law_for_country(country: str) -> Law:
    """The law covering people in a country (ISO alpha-2); the default one for any other."""
    country = (country or "").upper()
    return next((law for law in LAWS.values() if country in law.countries), default_law())


def law_holidays(law: Law) -> tuple[str, str | None]:
    """The (country, subdivision) whose public holidays the law's periods skip: its own calendar, or
    for the EU GDPR the controller's (DSR_HOLIDAY_CALENDAR, e.g. "DE" or "DE-BY"), since Regulation
    1182/71 Art. 2(1) counts the holidays of the Member State where the act is to be done."""
    if law.holiday_calendar is not None:
        return law.holiday_calendar
    country, _sep, subdivision = settings.DSR_HOLIDAY_CALENDAR.partition("-")
    return country, subdivision or None


def validate_jurisdiction(code: str) -> None:
    law_of(code)


def jurisdiction_choices() -> list[tuple[str, str]]:
    return [(law.code, law.name) for law in LAWS.values()]


def country_choices() -> list[tuple[str, str]]:
    named = sorted(COUNTRY_NAMES.items(), key=lambda item: str(item[1]))
    return [("", _("Another country")), *named]


def period_text(period: Period) -> str:
    """A period as the public pages say it: "1 month", "15 days", "10 business days"."""
    n = period.amount
    if period.unit == "months":
        return ngettext("%(n)d month", "%(n)d months", n) % {"n": n}
    if period.unit == "days":
        return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}
    return ngettext("%(n)d business day", "%(n)d business days", n) % {"n": n}


def answer_terms(law: Law) -> str:
    """What the law gives the controller to answer, as the requester's status page says it."""
    terms = {"answer": period_text(law.answer), "source": law.answer_source}
    if law.extension is None:
        return gettext("%(answer)s to answer (%(source)s).") % terms
    terms["extension"] = period_text(law.extension)
    return (
        gettext(
            "%(answer)s to answer (%(source)s); we may extend it by up to %(extension)s, telling you why."
        )
        % terms
    )
