"""Access and portability: the bundle is built as a job, reviewed, redacted with reasons, released
through a signed expiring link, and holds the person's data in JSON, CSV and XLSX."""

import csv
import io
import json
import shutil
import zipfile
from datetime import timedelta
from urllib.parse import urlparse

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from consent.models import Source
from consent.receipts.verify import receipt_verify
from consent.services import consent_change
from core.models import ComplianceSettings
from dsr.models import ExportBundle
from dsr.services import dsr_create, dsr_verify
from staff.models import AccessLogEntry
from subscriptions.models import SubscriptionList
from subscriptions.services import subscription_set
from tests.conftest import _persona
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the build and the mail start on commit
Status = ExportBundle.Status


@pytest.fixture
def holly(logging_on):
    news = PurposeFactory(slug="news", name="Newsletter")
    holly = ContactFactory(first_name="=HYPERLINK(1)", last_name="Dickson", email="holly@contoso.com")
    consent_change(contact=holly, level=3, purposes={news: True}, source=Source.IMPORT)
    monthly = SubscriptionList.objects.create(name="Monthly", slug="monthly", purpose=news, min_level=3)
    subscription_set(contact=holly, subscription_list=monthly, status="subscribed", source=Source.IMPORT)
    return holly


def _access_request(officer, kind="access"):
    request, _ = dsr_create(kind=kind, email="holly@contoso.com", channel="web")
    return dsr_verify(request=request, actor=officer, how="reply from the address")


def _build(client, request) -> ExportBundle:
    client.post(reverse("admin:dsr_datasubjectrequest_bundle", args=[request.pk]))
    return ExportBundle.objects.get(request=request)


def _download(client, smtp):
    (link,) = [
        urlparse(link).path for link in smtp.links("holly@contoso.com") if "/requests/download/" in link
    ]
    assert client.get(link).status_code == 200  # the page with the button; a scanner's GET takes nothing
    response = client.post(link)
    return link, response


def test_the_bundle_is_built_reviewed_redacted_released_and_downloaded(
    holly, privacy_officer, client_as, client, smtp
):
    request = _access_request(privacy_officer)
    officer = client_as(privacy_officer)
    bundle = _build(officer, request)
    assert (bundle.status, bundle.progress) == (Status.REVIEW, bundle.total) and bundle.total > 5

    review = officer.get(reverse("admin:dsr_exportbundle_change", args=[bundle.pk]))
    assert "holly@contoso.com" in review.text and "Consent change record" in review.text
    assert AccessLogEntry.objects.filter(action="export_bundle", contacts__contact_id=holly.pk).exists()

    officer.post(
        reverse("admin:dsr_exportbundle_change", args=[bundle.pk]),
        {"action": "redact", "item": ["consent.consentchange:0"], "reason": "names a colleague"},
    )
    officer.post(reverse("admin:dsr_exportbundle_change", args=[bundle.pk]), {"action": "release"})
    bundle.refresh_from_db()
    assert bundle.status == Status.RELEASED and bundle.redactions[0]["reason"] == "names a colleague"

    _link, response = _download(client, smtp)
    assert response.status_code == 200 and response["Content-Disposition"].endswith(
        f'{request.reference}.zip"'
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {"README.txt", "schema.json", "data.xlsx", "redactions.json", "contacts.contact.json"} <= names
    assert {"contacts.contact.csv", "consent.consentchange.json", "subscriptions.subscription.json"} <= names

    (contact,) = json.loads(archive.read("contacts.contact.json"))
    assert (
        contact["email"] == "holly@contoso.com" and contact["first_name"] == "=HYPERLINK(1)"
    )  # exact in JSON
    records = json.loads(archive.read("consent.consentchange.json"))
    assert len(records) == 1  # two recorded (level, purpose), one left out
    assert "chain_hash" not in records[0] and "personal_digest" not in records[0]  # machinery stays home
    # The receipts prove what the package holds: one for the record kept, none for the one left out.
    receipts = json.loads(archive.read("consent-receipts.jsonld"))
    assert [r["identifier"] for r in receipts["@graph"]] == [str(records[0]["id"])]
    assert [check.ok for check in receipt_verify(receipts)] == [True]
    assert json.loads(archive.read("subscriptions.subscription.json"))[0]["status"] == "subscribed"
    assert json.loads(archive.read("redactions.json")) == [
        {"file": "consent.consentchange", "reason": "names a colleague"}
    ]
    rows = list(csv.reader(io.StringIO(archive.read("contacts.contact.csv").decode())))
    assert rows[1][rows[0].index("First name")] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet

    workbook = openpyxl.load_workbook(io.BytesIO(archive.read("data.xlsx")))
    assert {"Contact", "Consent change record", "Subscription"} <= set(workbook.sheetnames)
    sheet = workbook["Contact"]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("First name") + 1)
    assert cell.value == "=HYPERLINK(1)" and cell.data_type == "s" and cell.quotePrefix

    bundle.refresh_from_db()
    assert len(bundle.downloads) == 1  # the download is logged (its time)


def test_a_second_officer_must_confirm_when_the_settings_ask(holly, privacy_officer, roles, smtp):
    from dsr.bundles import bundle_approve, bundle_create, bundle_redact, bundle_release
    from staff.roles import PRIVACY_OFFICER

    settings = ComplianceSettings.load()
    settings.export_needs_second_officer = True
    settings.save()
    second = _persona("officer2", PRIVACY_OFFICER)
    bundle = bundle_create(request=_access_request(privacy_officer), actor=privacy_officer)
    bundle.refresh_from_db()
    with pytest.raises(Exception, match="second privacy officer"):
        bundle_release(bundle=bundle, actor=privacy_officer)
    with pytest.raises(Exception, match="Another privacy officer"):
        bundle_approve(bundle=bundle, actor=privacy_officer)
    bundle_approve(bundle=bundle, actor=second)
    bundle_redact(bundle=bundle, items=[("contacts.contact", 0)], reason="test", actor=privacy_officer)
    bundle.refresh_from_db()
    assert bundle.approved_by is None  # a changed bundle needs confirming again
    bundle_approve(bundle=bundle, actor=second)
    bundle_release(bundle=bundle, actor=privacy_officer)
    assert smtp.links("holly@contoso.com")


def test_links_expire_are_limited_and_cannot_be_forged(holly, privacy_officer, client, smtp):
    from dsr.bundles import MAX_DOWNLOADS, bundle_create, bundle_release

    bundle = bundle_create(request=_access_request(privacy_officer), actor=privacy_officer)
    bundle_release(bundle=ExportBundle.objects.get(pk=bundle.pk), actor=privacy_officer)
    link, first = _download(client, smtp)
    assert first.status_code == 200
    for _ in range(MAX_DOWNLOADS - 1):
        assert client.post(link).status_code == 200
    assert client.post(link).status_code == 410  # used up
    assert client.get(link[:-4] + "xyz/").status_code == 400
    ExportBundle.objects.update(downloads=[], link_expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(link).status_code == 410


def test_only_access_requests_get_bundles_and_only_officers_act_on_them(
    holly, privacy_officer, auditor, marketer, client_as, smtp
):
    erase = _access_request(privacy_officer, kind="erase")
    officer = client_as(privacy_officer)
    officer.post(reverse("admin:dsr_datasubjectrequest_bundle", args=[erase.pk]))
    assert not ExportBundle.objects.exists()
    bundle = _build(officer, _access_request(privacy_officer, kind="export"))
    url = reverse("admin:dsr_exportbundle_change", args=[bundle.pk])
    assert client_as(auditor).get(url).status_code == 200
    assert client_as(auditor).post(url, {"action": "release"}).status_code == 403
    assert client_as(marketer).get(url).status_code == 403
    bundle.refresh_from_db()
    assert bundle.status == Status.REVIEW


@pytest.mark.parametrize("pseudonymise", [False, True])
def test_the_bundle_lists_staff_accesses_named_or_pseudonymised_as_set(
    holly, privacy_officer, client_as, smtp, pseudonymise
):
    from dsr.bundles import bundle_sections
    from dsr.staff_requests import staff_pseudonym

    settings = ComplianceSettings.load()
    settings.export_pseudonymise_staff = pseudonymise
    settings.save()
    officer = client_as(privacy_officer)
    officer.get(reverse("admin:contacts_contact_change", args=[holly.pk]))
    bundle = _build(officer, _access_request(privacy_officer))
    (accesses,) = [s["rows"] for s in bundle_sections(bundle) if s["section"] == "staff.accessedcontact"]
    assert [a["action"] for a in accesses] == ["Viewed a contact"]
    expected = staff_pseudonym(privacy_officer) if pseudonymise else privacy_officer.username
    assert accesses[0]["staff"] == expected


@pytest.mark.worker
def test_a_build_whose_worker_died_is_resumed_and_gives_the_same_bundle(
    holly, privacy_officer, celery_worker
):
    """A real worker on the real broker is killed (SIGKILL) right after it got a build; another
    bundle is left as a killed worker leaves one (BUILDING, half a snapshot, silent). After a
    restart the sweeper resumes both, and each equals a build that nobody interrupted."""
    import signal

    from dsr.bundles import (
        STALE_AFTER,
        bundle_build,
        bundle_create,
        bundle_dir,
        bundle_sections,
        bundles_resume_stale,
    )
    from tests.conftest import wait_for

    access, export = _access_request(privacy_officer), _access_request(privacy_officer, kind="export")
    reference = bundle_create(request=access, actor=privacy_officer)
    bundle_build(bundle_id=reference.pk)  # uninterrupted, in this process
    expected = bundle_sections(ExportBundle.objects.get(pk=reference.pk))

    celery_worker.start()
    killed = bundle_create(request=export, actor=privacy_officer)
    wait_for(
        lambda: ExportBundle.objects.get(pk=killed.pk).status != Status.QUEUED,
        seconds=60,
        message="the worker",
    )
    celery_worker.process.send_signal(signal.SIGKILL)
    celery_worker.process.wait(timeout=30)

    dropped = ExportBundle.objects.create(
        request=killed.request, created_by=privacy_officer, total=reference.total
    )
    bundle_dir(dropped).mkdir(parents=True, exist_ok=True)
    (bundle_dir(dropped) / "snapshot.json.partial").write_text('{"sections": [')
    long_ago = timezone.now() - STALE_AFTER - timedelta(minutes=1)
    ExportBundle.objects.filter(pk=dropped.pk).update(
        status=Status.BUILDING, progress=3, heartbeat_at=long_ago
    )
    ExportBundle.objects.filter(pk=killed.pk, status=Status.BUILDING).update(heartbeat_at=long_ago)

    celery_worker.start()
    bundles_resume_stale()
    for bundle in (killed, dropped):
        wait_for(
            lambda b=bundle: ExportBundle.objects.get(pk=b.pk).status == Status.REVIEW,
            seconds=60,
            message="the resumed build",
        )
        assert bundle_sections(ExportBundle.objects.get(pk=bundle.pk)) == expected
    assert bundles_resume_stale() == 0  # nothing left to resume


def test_a_build_another_worker_is_running_is_not_started_twice(holly, privacy_officer):
    from dsr.bundles import bundle_build, bundle_create

    bundle = bundle_create(request=_access_request(privacy_officer), actor=privacy_officer)
    ExportBundle.objects.filter(pk=bundle.pk).update(status=Status.BUILDING, heartbeat_at=timezone.now())
    assert bundle_build(bundle_id=bundle.pk) is False  # a fresh heartbeat: someone is on it
    assert ExportBundle.objects.get(pk=bundle.pk).status == Status.BUILDING


@pytest.mark.worker
@pytest.mark.postgres
def test_a_build_that_loses_its_database_connection_is_retried_and_gives_the_same_bundle(
    holly, privacy_officer, celery_worker, cut_worker_connection
):
    """The worker's database connection is cut for real while it collects the eleventh of
    fourteen sections; the task is retried and the bundle equals one built without interruption,
    with no half snapshot in between."""
    from dsr.bundles import bundle_build, bundle_create, bundle_dir, bundle_sections
    from tests.conftest import wait_for

    access, export = _access_request(privacy_officer), _access_request(privacy_officer, kind="export")
    reference = bundle_create(request=access, actor=privacy_officer)
    bundle_build(bundle_id=reference.pk)  # uninterrupted, in this process
    expected = bundle_sections(ExportBundle.objects.get(pk=reference.pk))
    # Bundle ids start again in each test database, and earlier sessions leave their folders.
    shutil.rmtree(bundle_dir(reference).parent)

    celery_worker.start()
    cut = bundle_create(request=export, actor=privacy_officer)
    cut_worker_connection("journeys_forwardedemail")  # the eleventh registered model

    halfway = ExportBundle.objects.get(pk=cut.pk)
    assert halfway.status != Status.REVIEW and not (bundle_dir(halfway) / "snapshot.json").exists()
    wait_for(
        lambda: ExportBundle.objects.get(pk=cut.pk).status in (Status.REVIEW, Status.FAILED),
        seconds=60,
        message="the retried build",
    )
    built = ExportBundle.objects.get(pk=cut.pk)
    assert (built.status, built.error) == (Status.REVIEW, "")
    assert bundle_sections(built) == expected
