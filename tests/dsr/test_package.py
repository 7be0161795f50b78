"""The access package reads without a database manual (GDPR Art. 12(1), 15): a summary page in
words at the top of the ZIP (HTML and PDF), names and labels beside every id and code, times in
the person's time zone, while the JSON and CSV stay complete and machine-readable (Art. 20)."""

import csv
import io
import json
import zipfile
import zoneinfo
from urllib.parse import urlparse

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from consent.models import PurposeConsent, Source
from consent.services import consent_change
from dsr.bundles import bundle_sections
from dsr.models import ExportBundle
from dsr.services import dsr_create, dsr_verify
from subscriptions.models import SubscriptionList
from subscriptions.services import subscription_set
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the build and the mail start on commit
BERLIN = "Europe/Berlin"


@pytest.fixture
def holly(logging_on, settings):
    settings.TIME_ZONE = BERLIN
    news = PurposeFactory(
        slug="news", name="Newsletter", recipients="Mailjet (our email processor, in the EU)"
    )
    partners = PurposeFactory(slug="partners", name="Partner offers", retention="until you withdraw")
    PurposeFactory(slug="surveys", name="Surveys")  # never answered: not hers to read about
    holly = ContactFactory(first_name="Holly", last_name="Dickson", email="holly@contoso.com")
    consent_change(contact=holly, level=3, purposes={news: True, partners: False}, source=Source.IMPORT)
    monthly = SubscriptionList.objects.create(
        name="Monthly digest", slug="monthly", purpose=news, min_level=3
    )
    subscription_set(contact=holly, subscription_list=monthly, status="subscribed", source=Source.IMPORT)
    return holly


def _package(privacy_officer, client_as, client, smtp, *, leave_out: str = "") -> zipfile.ZipFile:
    """Ask, verify, build, (redact the answer for `leave_out`,) release and download through the
    admin and the emailed link."""
    request, _ = dsr_create(kind="access", email="holly@contoso.com", channel="web")
    request = dsr_verify(request=request, actor=privacy_officer, how="reply from the address")
    officer = client_as(privacy_officer)
    officer.post(reverse("admin:dsr_datasubjectrequest_bundle", args=[request.pk]))
    bundle = ExportBundle.objects.get(request=request)
    page = reverse("admin:dsr_exportbundle_change", args=[bundle.pk])
    if leave_out:
        (answers,) = [s["rows"] for s in bundle_sections(bundle) if s["section"] == "consent.purposeconsent"]
        (row,) = [i for i, answer in enumerate(answers) if answer["purpose"] == leave_out]
        item = f"consent.purposeconsent:{row}"
        officer.post(page, {"action": "redact", "item": [item], "reason": "asked to leave it out"})
    officer.post(page, {"action": "release"})
    (link,) = [urlparse(u).path for u in smtp.links("holly@contoso.com") if "/requests/download/" in u]
    response = client.post(link)
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_summary_names_every_answered_purpose_and_the_level_in_words(
    holly, privacy_officer, client_as, client, smtp
):
    answered = PurposeConsent.objects.get(contact=holly, purpose__slug="news").changed_at
    archive = _package(privacy_officer, client_as, client, smtp)
    assert archive.namelist()[:2] == ["summary.html", "summary.pdf"]  # at the top of the package
    html = archive.read("summary.html").decode()
    pdf = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(archive.read("summary.pdf"))).pages)
    for text in (html, pdf):
        assert "Newsletter" in text and "Partner offers" in text  # every purpose she answered
        assert "Surveys" not in text  # and only those
        assert "Subscriptions" in text  # her consent level, by name
        assert "Monthly digest" in text
        assert f"{timezone.localtime(answered, zoneinfo.ZoneInfo(BERLIN)):%Y-%m-%d %H:%M}" in text
        assert "Mailjet (our email processor, in the EU)" in text  # recipients (Art. 15(1)(c))
        assert "until you withdraw" in text  # retention (Art. 15(1)(d))
        assert "Import" in text  # where the data came from (Art. 15(1)(g))
        for right in ("Rectification", "Erasure", "Restriction", "Objection", "Portability"):
            assert right in text
        assert "supervisory authority" in text
        assert "PURPOSE_ID" not in text and "consent_given" not in text


def test_the_json_and_csv_carry_names_labels_and_local_times_beside_the_ids(
    holly, privacy_officer, client_as, client, smtp
):
    archive = _package(privacy_officer, client_as, client, smtp)
    answers = {a["purpose"]: a for a in json.loads(archive.read("consent.purposeconsent.json"))}
    assert set(answers) == {"Newsletter", "Partner offers"}
    news = answers["Newsletter"]
    assert news["purpose_id"] and news["granted"] is True  # the raw values stay (Art. 20)
    assert (news["source"], news["source_name"]) == ("import", "Import")
    stored = PurposeConsent.objects.get(contact=holly, purpose__slug="news").changed_at
    assert news["changed_at"] == timezone.localtime(stored, zoneinfo.ZoneInfo(BERLIN)).isoformat()
    (contact,) = json.loads(archive.read("contacts.contact.json"))
    assert (contact["consent_given"], contact["consent_given_name"]) == (3, "Subscriptions")
    (subscription,) = json.loads(archive.read("subscriptions.subscription.json"))
    assert (subscription["subscription_list"], subscription["status_name"]) == (
        "Monthly digest",
        "Subscribed",
    )
    changes = json.loads(archive.read("consent.consentchange.json"))
    assert {"3 Subscriptions", "Yes", "No"} <= {c["new_value_name"] for c in changes}
    assert "Purpose consent: Newsletter" in {c["field_name"] for c in changes}

    rows = list(csv.DictReader(io.StringIO(archive.read("consent.purposeconsent.csv").decode())))
    assert {r["Purpose"] for r in rows} == {"Newsletter", "Partner offers"}  # headings in words
    assert {r["Granted"] for r in rows} == {"yes", "no"} and {r["Source"] for r in rows} == {"Import"}
    (row,) = csv.DictReader(io.StringIO(archive.read("contacts.contact.csv").decode()))
    assert row["Consent given"] == "Subscriptions" and row["Consent given (code)"] == "3"
    schema = {s["file"]: s for s in json.loads(archive.read("schema.json"))}
    assert "Purpose (number)" in schema["consent.purposeconsent"]["headings"]


def test_an_answer_the_officer_left_out_stays_out_of_the_summary(
    holly, privacy_officer, client_as, client, smtp
):
    archive = _package(privacy_officer, client_as, client, smtp, leave_out="Partner offers")
    html = archive.read("summary.html").decode()
    assert "Newsletter" in html and "Partner offers" not in html
    assert "1 item was left out" in html
    answers = json.loads(archive.read("consent.purposeconsent.json"))
    assert [a["purpose"] for a in answers] == ["Newsletter"]


def test_the_extension_notice_gives_the_officers_reason_as_written(privacy_officer, smtp):
    """Text bodies are not HTML: "the person's" and "&" arrive as typed, not as entities."""
    from datetime import timedelta

    from dsr.services import dsr_extend

    request, _ = dsr_create(kind="access", email="holly@contoso.com", channel="web")
    request = dsr_verify(request=request, actor=privacy_officer, how="reply from the address")
    reason = "The person's records sit in three systems & an archive <offline>."
    dsr_extend(
        request=request, actor=privacy_officer, until=request.due_at + timedelta(days=30), reason=reason
    )
    (body,) = [b for b in smtp.bodies("holly@contoso.com") if "more time" in b]
    assert reason in body and "&#" not in body and "&amp;" not in body


def test_the_summary_names_the_controller_and_the_privacy_contact_the_officer_set(
    holly, privacy_officer, client_as, client, smtp
):
    from core.models import ComplianceSettings

    organisation = ComplianceSettings.load()
    organisation.organisation_name = "Contoso Ltd"
    organisation.privacy_contact_email = "privacy@contoso.example"
    organisation.dpo_contact = "Dana Protector, dpo@contoso.example"
    organisation.save()
    html = _package(privacy_officer, client_as, client, smtp).read("summary.html").decode()
    assert "Contoso Ltd" in html
    assert "Dana Protector, dpo@contoso.example" in html
    assert "write to privacy@contoso.example" in html  # not the address mail is sent from


def test_a_german_persons_summary_names_purposes_and_lists_in_german(
    holly, privacy_officer, client_as, client, smtp
):
    from django.utils import translation

    from consent.models import Purpose
    from contacts.services import contact_language_set

    contact_language_set(contact=holly, language="de")
    Purpose.objects.filter(slug="news").update(translations={"de": {"name": "Rundbrief"}})
    SubscriptionList.objects.filter(slug="monthly").update(translations={"de": {"name": "Monatsauszug"}})
    try:
        archive = _package(privacy_officer, client_as, client, smtp)
    finally:
        translation.activate("en")
    html = archive.read("summary.html").decode()
    assert '<html lang="de">' in html
    assert "<td>Rundbrief" in html and "<li>Monatsauszug" in html
    assert "<td>Newsletter" not in html and "Monthly digest" not in html
    assert "Partner offers" in html  # no German wording given: the organisation's own
    # The email with the download link is in German too.
    (ready,) = [
        m
        for m in smtp.messages
        if "/requests/download/" in m.get_body(preferencelist=("plain",)).get_content()
    ]
    assert '<html lang="de">' in ready.get_body(preferencelist=("html",)).get_content()
