"""The access package's summary as a PDF (fpdf2, no network, no system fonts): the same words as
the HTML summary (dsr.package_summary), for a person who prints or files it."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.pdf import pdf_text

# The shared rule (core.pdf), under the name this module and its tests have always used.
_text = pdf_text


def summary_blocks(c: dict) -> list[tuple[str, list[str]]]:
    """The summary as (heading, lines), in the order of the HTML page."""
    purposes = [
        _("%(name)s: %(answer)s since %(since)s, received by %(source)s. %(basis)s")
        % {
            "name": p["name"],
            "answer": p["answer"],
            "since": p["since"],
            "source": p["source"],
            "basis": p["legal_basis"],
        }
        for p in c["purposes"]
    ]
    return [
        (
            _("Your consent level"),
            [f"{lv['name']} ({lv['number']} {_('of 5')}): {lv['means']}" for lv in c["levels"]]
            or [_("No consent level is recorded.")],
        ),
        (_("What we use your data for"), purposes or [_("You have given no answer for any purpose.")]),
        (_("Your subscriptions"), [f"{i['name']}: {i['status']} ({i['since']})" for i in c["lists"]]),
        (
            _("Who receives your data"),
            c["recipients"] or [_("We have recorded no recipient outside our organisation.")],
        ),
        (
            _("How long we keep it"),
            c["retention"]
            or [_("As long as you are on our records; we erase everything when you ask us to.")],
        ),
        (_("Where your data came from"), c["sources"] or [_("From you.")]),
        (
            _("What this package holds"),
            [f"{r['title']}: {r['count']} ({r['file']}.json, .csv)" for r in c["records"]],
        ),
        (
            _("Your rights"),
            [
                *c["rights"],
                _("To use them, write to %(contact)s or use %(url)s.")
                % {"contact": c["contact"], "url": c["requests_url"]},
            ],
        ),
        (_("How to complain"), [c["complaint"]]),
    ]


def summary_pdf(context: dict) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(_text(_("Your data: summary of request %(ref)s") % {"ref": context["reference"]}))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.multi_cell(0, 9, _text(_("Your data: summary")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    intro = _(
        "Request %(ref)s. This is what we held about you on %(when)s (times in this package are in "
        "the time zone %(zone)s)."
    ) % {"ref": context["reference"], "when": context["held_on"], "zone": context["time_zone"]}
    pdf.multi_cell(0, 5, _text(intro), new_x="LMARGIN", new_y="NEXT")
    for heading, lines in summary_blocks(context):
        if not lines:
            continue
        pdf.ln(3)
        pdf.set_font("Helvetica", style="B", size=12)
        pdf.multi_cell(0, 7, _text(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        for line in lines:
            pdf.multi_cell(0, 5, _text(f"- {line}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
