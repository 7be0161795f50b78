"""The summary page at the top of an access package (GDPR Art. 12(1), 15(1)): in words, what we
process about the person and why, who receives it, how long it is kept, where it came from, their
rights and how to complain. As HTML and as PDF, beside the machine-readable files (Art. 20).

It is read from the released snapshot (after redaction), never from the live tables: what an
officer left out of the package stays out of its summary too.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from consent.models import Purpose
from core import levels, registry
from core.links import absolute
from core.models import ComplianceSettings
from subscriptions.models import SubscriptionList

CONTACT, PURPOSES, LISTS, IMPORTED = (
    "contacts.contact",
    "consent.purposeconsent",
    "subscriptions.subscription",
    "imports.importedconsent",
)


def _rows(sections: list[dict], name: str) -> list[dict]:
    return next((s["rows"] for s in sections if s["section"] == name), [])


def _moment(text) -> str:
    """A snapshot time (ISO 8601, already in the person's zone) as a person writes it."""
    try:
        return dt.datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return text or ""


def _yes_no(granted) -> str:
    return _("yes") if granted else _("no")


def _levels(sections) -> list[dict]:
    found = []
    for row in _rows(sections, CONTACT):
        level = row.get("consent_given")
        if level is not None:
            found.append(
                {
                    "name": levels.level_name(level),
                    "number": level,
                    "means": levels.describe(level),
                }
            )
    return found


def _purposes(sections) -> list[dict]:
    """Every purpose the person has an answer for, by name, with what the register says of it."""
    rows = _rows(sections, PURPOSES)
    records = Purpose.objects.in_bulk([r["purpose_id"] for r in rows if r.get("purpose_id")])
    out = []
    for row in rows:
        record = records.get(row.get("purpose_id"))
        out.append(
            {
                # The register's wording in the person's language (core.translations), else the row's.
                "name": record.shown_name if record else row.get("purpose") or "",
                "answer": _yes_no(row.get("granted")),
                "since": _moment(row.get("changed_at")),
                "source": row.get("source_name") or "",
                "description": record.shown_description if record else "",
                "legal_basis": record.get_legal_basis_display() if record else "",
                "recipients": record.recipients if record else "",
                "retention": record.retention if record else "",
            }
        )
    return sorted(out, key=lambda p: p["name"].lower())


def _lists(sections) -> list[dict]:
    rows = _rows(sections, LISTS)
    records = SubscriptionList.objects.in_bulk(
        [r["subscription_list_id"] for r in rows if r.get("subscription_list_id")]
    )
    out = []
    for row in rows:
        record = records.get(row.get("subscription_list_id"))
        out.append(
            {
                "name": record.shown_name if record else row.get("subscription_list") or "",
                "status": row.get("status_name") or "",
                "since": _moment(row.get("changed_at")),
                "recipients": record.recipients if record else "",
                "retention": record.retention if record else "",
            }
        )
    return sorted(out, key=lambda item: item["name"].lower())


def _sources(sections) -> list[str]:
    """Where the data came from (Art. 15(1)(g)): the channels of the answers, and import sources."""
    found: dict[str, None] = {}
    for section in sections:
        for row in section["rows"]:
            if row.get("source_name"):
                found[row["source_name"]] = None
    for row in _rows(sections, IMPORTED):
        if row.get("source"):
            found[_("Import from %(source)s") % {"source": row["source"]}] = None
    return list(found)


def _retention(sections, purposes, lists) -> list[str]:
    texts = [
        f"{item['name']}: {item['retention']}" for item in (*purposes, *lists) if item["retention"].strip()
    ]
    held = {s["section"] for s in sections if s["rows"]}
    for entry in registry.entries():
        if entry.kept_until and entry.model._meta.label_lower in held:
            name = str(entry.model._meta.verbose_name)
            texts.append(f"{name[:1].upper()}{name[1:]}: {_(entry.kept_until)}")  # a gettext_noop msgid
    return texts


def summary_context(bundle, sections: list[dict]) -> dict:
    """Everything the summary says, in words."""
    purposes, lists = _purposes(sections), _lists(sections)
    recipients = list(
        dict.fromkeys(i["recipients"].strip() for i in (*purposes, *lists) if i["recipients"].strip())
    )
    zone = next((s.get("time_zone") for s in sections if s.get("time_zone")), settings.TIME_ZONE)
    when = bundle.released_at or timezone.now()
    organisation = ComplianceSettings.load().organisation()
    return {
        "language": get_language() or settings.LANGUAGE_CODE,
        "reference": bundle.request.reference,
        "held_on": timezone.localtime(when, zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M"),
        "time_zone": zone,
        "levels": _levels(sections),
        "purposes": purposes,
        "lists": lists,
        "recipients": recipients,
        "retention": _retention(sections, purposes, lists),
        "sources": _sources(sections),
        "records": [
            {"title": s["title"], "count": len(s["rows"]), "file": s["section"]}
            for s in sections
            if s["rows"]
        ],
        "rights": rights(),
        "complaint": _(
            "You may complain to a data protection supervisory authority (GDPR Art. 77), in "
            "particular in the EU member state where you live, where you work or where you think "
            "the infringement took place. You may also ask us first: we answer within a month."
        ),
        "requests_url": absolute(reverse("dsr:request")),
        # The privacy contact the officer set (compliance settings), else the address mail comes from.
        "contact": organisation.get("privacy_email") or settings.DEFAULT_FROM_EMAIL,
        "organisation": organisation,
        "left_out": len(bundle.redactions),
    }


def rights() -> list[str]:
    return [
        _("Rectification (Art. 16): ask us to correct data about you that is wrong or incomplete."),
        _("Erasure (Art. 17): ask us to erase your data."),
        _(
            "Restriction (Art. 18): ask us to keep your data but not use it, for example while you dispute it."
        ),
        _(
            "Objection (Art. 21): object to a use based on our legitimate interests, and to direct "
            "marketing at any time."
        ),
        _(
            "Portability (Art. 20): the JSON and CSV files in this package are your data in a "
            "machine-readable form; you may also ask us to send it to another organisation."
        ),
        _(
            "Withdrawing consent (Art. 7(3)): at any time, as easily as you gave it; earlier use stays lawful."
        ),
    ]


def summary_html(context: dict) -> str:
    return render_to_string("dsr/package_summary.html", context)
