"""Every public page and every email of the product, in German, holds no English of its own.

Method: each state in STATES and EMAILS is rendered twice from the same data, once in English and
once in German. A visible text (text nodes outside script and style, and title, alt, aria-label,
placeholder and the value of buttons) that is the same in both renderings, once the data put in
(names, addresses, dates, numbers, the organisation, URLs) is taken out, was not translated, and
the test lists it. To cover a new page or email, add a row to STATES or EMAILS.

The catalogue itself: the django.mo shipped in the repo (a fresh machine has no gettext to compile
it) holds exactly what the .po says, and no msgid in the .po is fuzzy or untranslated.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import polib
import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from consent.models import Purpose, PurposeConsent, Source
from consent.services import consent_change
from contacts.models import Contact
from core import registry
from core.models import ComplianceSettings
from dsr import agents, bundles, intake
from dsr import tasks as dsr_tasks
from dsr.assignee_mail import assignment_send
from dsr.bundle_zip import _readme
from dsr.models import AgentAuthority, DataSubjectRequest, ExportBundle, RequestSubmission
from dsr.package_pdf import _text as pdf_text
from dsr.package_pdf import summary_blocks
from dsr.package_summary import summary_context
from dsr.reminders import deadline_reminders
from dsr.services import _send_erasure_receipt, dsr_create, dsr_decline, dsr_extend, dsr_verify
from dsr.status_links import status_link_url
from journeys.emails import journey_email, send_forwarded_email
from journeys.views import ForwardForm
from staff.roles import PRIVACY_OFFICER
from subscriptions.emails import (
    send_coming_of_age_invitation,
    send_consent_request,
    way_out_footer,
    way_out_for,
)
from subscriptions.models import AccessToken, ConsentRequest, SubscriptionList
from subscriptions.services import (
    RequestMeta,
    center_link,
    center_link_send,
    confirmation_link,
    consent_request_create,
    subscription_set,
    unsubscribe_link,
)
from subscriptions.services.links import leave_link
from tests.factories import ContactFactory, PurposeFactory, UserFactory
from tests.subscriptions.center_form import center_form

PO = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")

# Words a German page rightly shares with the English one.
SAME_IN_GERMAN = {
    "Marketing",
    "Profiling",
    "Tracking",
    "Import",
    "Status",
    "JSON",
    "CSV",
    "ZIP",
    "Excel",
    "DSGVO",
    # The switcher names each language in itself (Django's name_local), the same on every page.
    "Deutsch",
    "English",
    # Country names of the request form that German spells the same, and the laws' own names.
    "Liechtenstein",
    "Malta",
    "Portugal",
    "CCPA",
    "CPRA",
    "LGPD",
}
# The data each state puts in; they are no product text, in any language.
DATA = [
    "Offers",
    "Kim",
    "Spring offers for you.",
    "Spring offers",
    "Reason given",
    "dana",
    "Example Ltd",
    "1 High Street",
    "London",
    "Dana Dpo",
    "Ivy",
    "Ivanova",
    "Newsletter",
    "Our monthly newsletter.",
    "News",
    "Monthly news.",
    "Europe/Berlin",
    "contacts.contact",
    "summary.html",
    "summary.pdf",
    "schema.json",
    "data.xlsx",
    "redactions.json",
    "contact_id",
    "ISO",
]
DATA_PATTERNS = [
    r"https?://\S+",
    r"[\w*.+-]+@[\w-]+(\.[\w-]+)+",  # an address, also masked (i***@example.org)
    r"DSR-[\w-]+",
    r"BR-\d+",  # a breach's reference
    r"[\w./-]*\.(json|csv|xlsx)\b",
    r"\d+",
]


# --- Reading what a person sees ---------------------------------------------------------------


class VisibleText(HTMLParser):
    ATTRIBUTES = {"title", "alt", "aria-label", "placeholder"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        attrs = dict(attrs)
        self.texts += [value for name, value in attrs.items() if name in self.ATTRIBUTES and value]
        if tag == "input" and attrs.get("type") in ("submit", "button", "reset") and attrs.get("value"):
            self.texts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.texts.append(data)


def visible_texts(content: str, *, html: bool = True) -> set[str]:
    if html:
        parser = VisibleText()
        parser.feed(content)
        texts = parser.texts
    else:
        texts = content.splitlines()
    return {" ".join(text.split()) for text in texts} - {""}


def product_text(text: str) -> str:
    """What is left of a text once the data put in is taken out: the product's own words."""
    for value in sorted(DATA, key=len, reverse=True):
        text = text.replace(value, " ")
    for pattern in DATA_PATTERNS:
        text = re.sub(pattern, " ", text)
    words = [w for w in re.findall(r"[^\W\d_]{2,}", text) if w not in SAME_IN_GERMAN]
    return " ".join(words)


def untranslated(english: set[str], german: set[str]) -> list[str]:
    return sorted(t for t in english & german if product_text(t))


# --- The data every state starts from ---------------------------------------------------------


def world(lang: str) -> SimpleNamespace:
    """The same people, lists and organisation for each language (the database is rolled back)."""
    cache.clear()  # rate limits start afresh for each rendering
    compliance = ComplianceSettings.load()
    compliance.organisation_name = "Example Ltd"
    compliance.controller_address = "1 High Street\nLondon"
    compliance.privacy_contact_email = "privacy@example.org"
    compliance.dpo_contact = "Dana Dpo"
    compliance.save()
    newsletter = PurposeFactory(name="Newsletter", slug="newsletter", description="Our monthly newsletter.")
    news = SubscriptionList.objects.create(
        name="News", slug="news", description="Monthly news.", purpose=newsletter, public=True
    )
    # Ivy's stored language is the one rendered: every email to her follows it (core.languages).
    ivy = ContactFactory(first_name="Ivy", last_name="Ivanova", email="ivy@example.org", language=lang)
    consent_change(contact=ivy, level=3, purposes={newsletter: True}, source=Source.IMPORT)
    subscription_set(contact=ivy, subscription_list=news, status="subscribed", source=Source.IMPORT)
    ivy.refresh_from_db()
    return SimpleNamespace(
        lang=lang,
        client=Client(HTTP_ACCEPT_LANGUAGE=lang),
        ivy=ivy,
        news=news,
        newsletter=newsletter,
        meta=RequestMeta(ip="192.0.2.1", user_agent="test"),
    )


def html(response) -> str:
    assert response.status_code < 500, response.status_code
    return response.content.decode()


def render(w, template: str, context: dict) -> str:
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE=w.lang)
    request.LANGUAGE_CODE = w.lang
    return render_to_string(template, context, request=request)


def path(url: str) -> str:
    return urlparse(url).path


def in_center(w):
    """The visitor's client with the subscription center open for Ivy."""
    w.client.get(path(center_link(contact=w.ivy)))
    return w.client


def raise_waiting(w, **changes) -> ConsentRequest:
    return consent_request_create(
        contact=w.ivy, changes=changes or {"level": 4, "tracking": True}, origin="center", meta=w.meta
    )


def child_raise(w) -> ConsentRequest:
    """Ivy's child Kim asks for more: Ivy confirms as the guardian (GDPR Art. 8)."""
    kim = ContactFactory(
        first_name="Kim", last_name="Ivanova", email="kim@example.org", is_child=True, guardian=w.ivy
    )
    return consent_request_create(contact=kim, changes={"level": 3}, origin="center", meta=w.meta)


def expire(model, **filters):
    model.objects.filter(**filters).update(expires_at=timezone.now() - timedelta(minutes=1))


def dsr_link(w, **fields) -> str:
    submission = intake.submission_create(kind="access", email="ivy@example.org", **fields)
    return path(intake.submission_link(submission))


def leave_news(w):
    client = in_center(w)
    client.post(reverse("subscriptions:center"), center_form(w.ivy))
    return client


# --- Every public page state ------------------------------------------------------------------

CENTER = reverse("subscriptions:center")
WAY_IN = reverse("subscriptions:center-link-request")
DSR = reverse("dsr:request")
PRIVACY = reverse("subscriptions:privacy-choices")
AGENT = {
    "country": "US",
    "kind": "access",
    "email": "ivy@example.org",
    "agent": "on",
    "agent_name": "Kim",
    "agent_email": "kim@example.org",
}


def _agent_request(w):
    proof = SimpleUploadedFile("p.pdf", b"%PDF-1.7 x", "application/pdf")
    agents.agent_request_submit(
        kind="access", email="ivy@example.org", agent_name="Kim", agent_email="kim@example.org", proof=proof
    )
    return AgentAuthority.objects.get()


def _agent_link(w) -> str:
    return path(agents.agent_link(_agent_request(w)))


def _dsr_confirmed(w):
    link = dsr_link(w)
    return html(w.client.post(link))


def _dsr_expired(w):
    link = dsr_link(w)
    expire(RequestSubmission)
    return html(w.client.get(link))


def _confirm_expired(w):
    link = path(confirmation_link(raise_waiting(w)))
    expire(AccessToken, kind=AccessToken.Kind.CONFIRM)
    return html(w.client.get(link))


def _confirm_renewed(w):
    link = path(confirmation_link(raise_waiting(w)))
    expire(AccessToken, kind=AccessToken.Kind.CONFIRM)
    return html(w.client.post(link, {"action": "renew"}))


def _confirm_done(w):
    link = path(confirmation_link(raise_waiting(w, lists=[w.news.pk], level=4)))
    return html(w.client.post(link, {"action": "confirm"}))


def _confirm_refused(w):
    """The purpose asked for was retired before the click: the confirmation is refused, saying why."""
    offers = PurposeFactory(name="Offers", slug="offers")
    link = path(confirmation_link(raise_waiting(w, purposes={"offers": True})))
    Purpose.objects.filter(pk=offers.pk).update(active=False)
    return html(w.client.post(link, {"action": "confirm"}))


def _confirm_already(w):
    link = path(confirmation_link(raise_waiting(w)))
    w.client.post(link, {"action": "confirm"})
    return html(w.client.get(link))


def _center_resent(w):
    pending = raise_waiting(w)
    client = in_center(w)
    return html(client.post(reverse("subscriptions:center-resend"), {"request": pending.pk}, follow=True))


def _unsubscribed(w):
    return html(w.client.post(path(unsubscribe_link(contact=w.ivy, subscription_list=w.news))))


def _unsubscribe_undone(w):
    link = path(unsubscribe_link(contact=w.ivy, subscription_list=w.news))
    w.client.post(link)
    token = link.rstrip("/").split("/")[-1]
    return html(w.client.post(reverse("subscriptions:unsubscribe-undo", args=[token])))


def _link_expired(w):
    link = path(center_link(contact=w.ivy))
    expire(AccessToken, kind=AccessToken.Kind.CENTER)
    return html(w.client.get(link))


def _center_rejoin(w):
    client = leave_news(w)
    return html(client.post(reverse("subscriptions:center-rejoin"), {"list": w.news.pk}))


def _download_error(w):
    try:
        bundles.bundle_find("not-a-link")
    except ValidationError as error:
        return render(w, "dsr/download.html", {"error": error.messages[0]})
    raise AssertionError("a forged link was accepted")


def _download(w):
    request = DataSubjectRequest(reference="DSR-2026-0001", kind="access")
    bundle = SimpleNamespace(request=request, link_expires_at=timezone.now() + timedelta(days=7))
    return render(w, "dsr/download.html", {"bundle": bundle})


def title(model) -> str:
    """A section's title as dsr.bundles writes it into the snapshot."""
    return str(model._meta.verbose_name).capitalize()


def _package_context(w) -> dict:
    sections = [
        {
            "section": "contacts.contact",
            "title": title(Contact),
            "rows": [{"consent_given": 3}],
        },
        {
            "section": "consent.purposeconsent",
            "title": title(PurposeConsent),
            "rows": [
                {
                    "purpose_id": w.newsletter.pk,
                    "purpose": "Newsletter",
                    "granted": True,
                    "changed_at": "2026-01-02T03:04:05+01:00",
                    "source_name": str(Source.IMPORT.label),
                }
            ],
        },
    ]
    request = DataSubjectRequest(reference="DSR-2026-0001", kind="access")
    bundle = SimpleNamespace(request=request, released_at=timezone.now(), redactions=[1, 2])
    context = summary_context(bundle, sections)
    context["time_zone"] = "Europe/Berlin"
    return context


def _package_summary(w):
    return render(w, "dsr/package_summary.html", _package_context(w))


def _package_pdf(w):
    """The PDF's words (dsr.package_pdf.summary_blocks), as the PDF writes them (Latin-1)."""
    blocks = summary_blocks(_package_context(w))
    return "".join(
        f"<h2>{escape(pdf_text(heading))}</h2>"
        + "".join(f"<p>{escape(pdf_text(line))}</p>" for line in lines)
        for heading, lines in blocks
    )


def _package_readme(w):
    """The README.txt in the ZIP, a paragraph per line."""
    bundle = SimpleNamespace(
        request=SimpleNamespace(reference="DSR-2026-0001"), released_at=timezone.now(), redactions=[1]
    )
    sections = [
        {"section": "contacts.contact", "title": title(Contact), "rows": [{}], "time_zone": "Europe/Berlin"}
    ]
    return "".join(f"<p>{escape(line)}</p>" for line in _readme(bundle, sections).splitlines())


def _status(w, *, decide=None):
    """The requester's status page, reached from the link in our emails; `decide` moves the
    request on first, as an officer would."""
    request, _created = dsr_create(kind="access", email="ivy@example.org", channel="web")
    if decide:
        decide(request, UserFactory(username="olga"))
    return html(w.client.get(path(status_link_url(request=request))))


def _extended(request, officer):
    dsr_verify(request=request, actor=officer, how="reply from the address")
    dsr_extend(request=request, actor=officer, until=timezone.now() + timedelta(days=60), reason="x")


def _declined(request, officer):
    dsr_decline(request=request, actor=officer, reason="x")


def _too_many(w):
    for _attempt in range(5):
        w.client.post(DSR, {"kind": "access"})
    response = w.client.post(DSR, {"kind": "access"})
    assert response.status_code == 429
    return html(response)


STATES = {
    # name: what the visitor does, returning the page's HTML
    "sign-up form": lambda w: html(w.client.get(reverse("subscriptions:signup", args=["news"]))),
    "sign-up form with errors": lambda w: html(
        w.client.post(reverse("subscriptions:signup", args=["news"]), {"email": "no"})
    ),
    "sign-up sent": lambda w: html(
        w.client.post(
            reverse("subscriptions:signup", args=["news"]), {"email": "new@example.org", "agree": "on"}
        )
    ),
    "way in": lambda w: html(w.client.get(CENTER)),
    "way in, visit ended": lambda w: html(w.client.post(CENTER, {})),
    "email me my link, error": lambda w: html(w.client.post(WAY_IN, {"email": "no"})),
    "email me my link, sent": lambda w: html(w.client.post(WAY_IN, {"email": "ivy@example.org"})),
    "center": lambda w: html(in_center(w).get(CENTER)),
    "center with a GPC signal": lambda w: html(in_center(w).get(CENTER, HTTP_SEC_GPC="1")),
    "center with a pending raise": lambda w: (raise_waiting(w), html(in_center(w).get(CENTER)))[1],
    "center, email sent again": _center_resent,
    "center, form error": lambda w: html(in_center(w).post(CENTER, center_form(w.ivy, consent_given="9"))),
    "center saved, list left (undo)": lambda w: html(in_center(w).post(CENTER, center_form(w.ivy))),
    "center saved, waiting": lambda w: html(
        in_center(w).post(CENTER, center_form(w.ivy, consent_given="4", lists=str(w.news.pk)))
    ),
    "center saved, both": lambda w: html(
        in_center(w).post(CENTER, center_form(w.ivy, consent_given="4", tracking="allow"))
    ),
    "center saved, nothing changed": lambda w: html(
        in_center(w).post(CENTER, center_form(w.ivy, lists=str(w.news.pk), purpose_newsletter="yes"))
    ),
    "center, rejoin sent": _center_rejoin,
    "center, left everything": lambda w: html(in_center(w).post(CENTER, {"action": "leave_everything"})),
    "confirm form": lambda w: html(
        w.client.get(path(confirmation_link(raise_waiting(w, lists=[w.news.pk], level=4))))
    ),
    "confirm form, as the guardian": lambda w: html(w.client.get(path(confirmation_link(child_raise(w))))),
    "confirm result": _confirm_done,
    "confirm, already": _confirm_already,
    "confirm, refused": _confirm_refused,
    "confirm, expired": _confirm_expired,
    "confirm, renewed": _confirm_renewed,
    "link invalid": lambda w: html(w.client.get(reverse("subscriptions:center-entry", args=["forged"]))),
    "link expired": _link_expired,
    "unsubscribe": lambda w: html(
        w.client.get(path(unsubscribe_link(contact=w.ivy, subscription_list=w.news)))
    ),
    "unsubscribed": _unsubscribed,
    "unsubscribe undone (rejoin sent)": _unsubscribe_undone,
    "leave everything": lambda w: html(w.client.get(path(leave_link(contact=w.ivy)))),
    "left everything": lambda w: html(w.client.post(path(leave_link(contact=w.ivy)))),
    "DSR request form": lambda w: html(w.client.get(DSR)),
    "DSR request form with errors": lambda w: html(w.client.post(DSR, {"kind": "access", "phone": "abc"})),
    "DSR request, nothing given": lambda w: html(w.client.post(DSR, {"kind": "access"})),
    "DSR request sent": lambda w: html(w.client.post(DSR, {"kind": "access", "email": "ivy@example.org"})),
    "DSR request by phone": lambda w: html(w.client.post(DSR, {"kind": "erase", "phone": "+49 30 1234567"})),
    "DSR request form, California": lambda w: html(w.client.get(DSR, {"country": "US"})),
    "DSR request by phone, Brazil": lambda w: html(
        w.client.post(DSR, {"country": "BR", "kind": "erase", "phone": "+49 30 1234567"})
    ),
    "DSR confirm": lambda w: html(w.client.get(dsr_link(w))),
    "DSR confirmed": _dsr_confirmed,
    "DSR confirm, expired": _dsr_expired,
    "DSR confirm, invalid": lambda w: html(w.client.get(reverse("dsr:confirm", args=["forged"]))),
    "DSR status": _status,
    "DSR status, extended": lambda w: _status(w, decide=_extended),
    "DSR status, declined": lambda w: _status(w, decide=_declined),
    "DSR status, link invalid": lambda w: html(w.client.get(reverse("dsr:status", args=["forged"]))),
    "DSR not offered (tools switched off)": lambda w: (
        ComplianceSettings.objects.update_or_create(pk=1, defaults={"data_protection_tools_enabled": False}),
        html(w.client.get(DSR)),
    )[1],
    "download": _download,
    "download, link invalid": _download_error,
    "access package summary": _package_summary,
    "access package PDF": _package_pdf,
    "access package README": _package_readme,
    "too many requests": _too_many,
    "privacy choices": lambda w: html(w.client.get(PRIVACY)),
    "privacy choices, refused": lambda w: html(w.client.post(PRIVACY, {"action": "opt_out"})),
    "privacy choices with a GPC signal, in the center": lambda w: html(
        in_center(w).get(PRIVACY, HTTP_SEC_GPC="1")
    ),
    "privacy choices, opted out": lambda w: html(
        in_center(w).post(PRIVACY, {"action": "opt_out", "opt_out": ["sale_sharing", "sensitive"]})
    ),
    "DSR request by an agent, bad proof": lambda w: html(
        w.client.post(DSR, {**AGENT, "proof": SimpleUploadedFile("p.pdf", b"text", "application/pdf")})
    ),
    "DSR request by an agent, sent": lambda w: html(
        w.client.post(DSR, {**AGENT, "proof": SimpleUploadedFile("p.pdf", b"%PDF-1.7 x", "application/pdf")})
    ),
    "DSR agent confirm": lambda w: html(w.client.get(_agent_link(w))),
    "DSR agent confirmed": lambda w: html(w.client.post(_agent_link(w), {"answer": "yes"})),
    "DSR agent denied": lambda w: html(w.client.post(_agent_link(w), {"answer": "no"})),
    "forward to a friend": lambda w: render(w, "journeys/forward.html", {"form": ForwardForm()}),
    "forward to a friend, error": lambda w: render(
        w, "journeys/forward.html", {"form": ForwardForm({"friend_email": "no"})}
    ),
    "forward sent": lambda w: render(w, "journeys/forward_sent.html", {}),
    "forward link invalid": lambda w: html(w.client.get(reverse("journeys:forward", args=["forged"]))),
    "tracked link invalid": lambda w: html(w.client.get(reverse("journeys:click", args=["forged"]))),
}


def rendered(state, lang: str) -> str:
    with translation.override(lang), transaction.atomic():
        content = state(world(lang))
        transaction.set_rollback(True)
    return content


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(STATES))
def test_every_public_page_is_all_german(name):
    english, german = (visible_texts(rendered(STATES[name], lang)) for lang in ("en", "de"))
    assert english != german  # the German rendering really is another language
    assert untranslated(english, german) == []


# --- Every email, sent over real SMTP ---------------------------------------------------------


def _dsr_request(w, **fields):
    request, _joined = dsr_create(kind="access", channel="web", email="ivy@example.org")
    if fields:
        DataSubjectRequest.objects.filter(pk=request.pk).update(**fields)
    return request


def _bundle_ready(w):
    request = _dsr_request(w)
    bundle = ExportBundle.objects.create(
        request=request,
        created_by=UserFactory(),
        status=ExportBundle.Status.RELEASED,
        released_at=timezone.now(),
        link_nonce="n" * 32,
        link_expires_at=timezone.now() + timedelta(days=7),
    )
    dsr_tasks.send_bundle_link(bundle.pk)


def _erasure_receipt(w):
    """A receipt as dsr.erasure writes it: the registry's own words for what is kept and why."""
    receipt = {"deleted": {title(Contact): 1}, "anonymised": {}, "kept": {}, "files": {}}
    for entry in registry.entries():
        if entry.legal_hold:
            name = str(entry.model._meta.verbose_name).capitalize()
            receipt["anonymised"][name] = {
                "rows": 1,
                "legal_basis": entry.legal_hold,
                "kept_until": entry.kept_until,
            }
    for entry in registry.file_entries():
        receipt["files"][entry.name] = {"files": 1, "how": entry.how}
    request = SimpleNamespace(reference="DSR-2026-0001")
    record = SimpleNamespace(request=request, receipt=receipt, performed_at=timezone.now())
    _send_erasure_receipt(record, "ivy@example.org", [w.lang])


def _deadlines(w):
    officer = UserFactory(username="dana", email="dana@example.org")
    officer.groups.add(Group.objects.get_or_create(name=PRIVACY_OFFICER)[0])
    _dsr_request(w, due_at=timezone.now() - timedelta(days=1))
    _dsr_request_other = dsr_create(kind="erase", channel="web", email="other@example.org")[0]
    DataSubjectRequest.objects.filter(pk=_dsr_request_other.pk).update(
        due_at=timezone.now() + timedelta(days=2)
    )
    deadline_reminders()


def _breach(w, **fields):
    from breaches.models import Breach

    texts = ("summary", "nature", "people_categories", "data_categories", "consequences", "measures")
    fields = {"discovered_at": timezone.now() - timedelta(hours=80), **fields}
    return Breach.objects.create(
        people_count=1,
        records_count=1,
        dpo_contact="Dana Dpo",
        people_notice="Reason given",
        **dict.fromkeys(texts, "Reason given"),
        **fields,
    )


def _breach_deadlines(w):
    """The officers' reminder of breaches near and past the 72 hours."""
    from breaches.reminders import breach_reminders

    officer = UserFactory(username="dana", email="dana@example.org")
    officer.groups.add(Group.objects.get_or_create(name=PRIVACY_OFFICER)[0])
    _breach(w)
    _breach(w, discovered_at=timezone.now() - timedelta(hours=50))
    breach_reminders()


def _breach_notice(w):
    """The notice of a breach to a person it concerned (GDPR Art. 34), in their language."""
    from breaches.models import BreachNotice
    from breaches.services import breach_notices_send

    breach = _breach(w)
    BreachNotice.objects.create(breach=breach, contact=w.ivy, email=w.ivy.email)
    breach_notices_send(breach_id=breach.pk)


def _assigned(w):
    """The email to a newly assigned member of staff: the comment (none here) and the contacts."""
    officer = UserFactory(username="dana", email="dana@example.org")
    request = _dsr_request(w, assignee=officer)
    assignment_send(request_id=request.pk, assignee_id=officer.pk)


def _list_email_footer(w):
    """The way out under a list email and under one of no list ("stop all marketing")."""
    for subscription_list in (w.news, None):
        text, html_part = way_out_footer(way_out_for(contact=w.ivy, subscription_list=subscription_list))
        message = EmailMultiAlternatives("News", text, to=["ivy@example.org"])
        message.attach_alternative(html_part, "text/html")
        message.send()


def _center_link_two(w):
    ContactFactory(first_name="Ivy", last_name="Ivanova", email="ivy@example.org")
    center_link_send(email="ivy@example.org")


SPRING = SimpleNamespace(subject="Spring offers", body="Spring offers for you.")


def _journey_email(w):
    """A journey's list email with its forward link and way out (the template's words are data)."""
    journey_email(
        template=SPRING, contact=w.ivy, subscription_list=w.news, forward_link="https://x.test/f"
    ).send()


def _forwarded(w):
    journey = SimpleNamespace(subscription_list_id=w.news.pk, subscription_list=w.news)
    send_forwarded_email(template=SPRING, journey=journey, to="friend@example.org")


EMAILS = {
    "journey email with forward link": _journey_email,
    "forwarded to a friend": _forwarded,
    # name: what makes the product send it (to the SMTP inbox)
    "double opt-in": lambda w: send_consent_request(
        raise_waiting(w, lists=[w.news.pk], level=4), "https://x.test/c"
    ),
    "double opt-in for a child": lambda w: send_consent_request(child_raise(w), "https://x.test/c"),
    "came of age": lambda w: send_coming_of_age_invitation(w.ivy, "https://x.test/c"),
    "center link": lambda w: center_link_send(email="ivy@example.org"),
    "center link, two records": _center_link_two,
    "DSR confirm the address": lambda w: dsr_tasks.send_submission_link(
        intake.submission_create(kind="erase", email="ivy@example.org", language=w.lang).pk
    ),
    "DSR agent confirmation": lambda w: dsr_tasks.send_agent_confirmation(_agent_request(w).pk),
    "DSR acknowledgement": lambda w: dsr_tasks.send_acknowledgement(_dsr_request(w).pk),
    "DSR extension": lambda w: dsr_tasks.send_extension_notice(
        _dsr_request(
            w,
            status=DataSubjectRequest.Status.EXTENDED,
            extended_until=timezone.now() + timedelta(days=60),
            extension_reason="Reason given",
        ).pk
    ),
    "DSR bundle ready": _bundle_ready,
    "erasure receipt": _erasure_receipt,
    "DSR deadlines (staff)": _deadlines,
    "DSR assigned (staff)": _assigned,
    "list email way out": _list_email_footer,
    "breach notice": _breach_notice,
    "breach deadlines (staff)": _breach_deadlines,
}


def sent(state, lang: str, inbox) -> set[str]:
    before = len(inbox.messages)
    rendered(state, lang)
    texts = set()
    for message in inbox.messages[before:]:
        texts |= visible_texts(str(message["Subject"]), html=False)
        texts |= visible_texts(message.get_body(preferencelist=("plain",)).get_content(), html=False)
        texts |= visible_texts(message.get_body(preferencelist=("html",)).get_content())
    assert texts, "nothing was sent"
    return texts


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(EMAILS))
def test_every_email_is_all_german(name, smtp_server):
    english, german = (sent(EMAILS[name], lang, smtp_server) for lang in ("en", "de"))
    assert english != german
    assert untranslated(english, german) == []


# --- The catalogue ----------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|%0?\d*X")


def catalogue(entries) -> dict:
    """What a catalogue translates: each (context, msgid, plural) to its translation(s)."""
    return {
        (e.msgctxt, e.msgid, e.msgid_plural): (e.msgstr, sorted(e.msgstr_plural.items()))
        for e in entries
        if e.msgid
    }


def test_the_shipped_mo_is_the_po_compiled(tmp_path):
    """A fresh machine has no gettext: the django.mo in the repo is what it reads."""
    compiled = tmp_path / "django.mo"
    polib.pofile(str(PO)).save_as_mofile(str(compiled))
    shipped, fresh = polib.mofile(str(MO)), polib.mofile(str(compiled))
    assert catalogue(shipped) == catalogue(fresh), "run `make messages` and commit django.mo"
    assert shipped.metadata.get("Plural-Forms") == fresh.metadata.get("Plural-Forms")


def test_every_msgid_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(PO))
    assert not po.metadata_is_fuzzy
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert [e.msgid for e in po.untranslated_entries()] == []


def test_translations_keep_their_placeholders():
    broken = []
    for e in polib.pofile(str(PO)):
        pairs = (
            [(e.msgid, e.msgstr)]
            if not e.msgid_plural
            else [
                (e.msgid, e.msgstr_plural[0]),
                (e.msgid_plural, e.msgstr_plural[1]),
            ]
        )
        for source, german in pairs:
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(german)):
                broken.append(source)
    assert broken == []


def test_the_german_pdf_keeps_its_quotation_marks():
    """The PDF's core fonts are Latin-1: German „…“ become plain quotes, not question marks."""
    with translation.override("de"):
        line = pdf_text(translation.gettext("Unsubscribe from “%(name)s”") % {"name": "News"})
    assert line == 'Von "News" abmelden'
