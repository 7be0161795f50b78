"""Erasure: one person's data goes from every table and history table, proof stays, nothing leaks."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from consent.audit_chain import verify
from consent.models import ConsentChange, PurposeConsent, Source
from consent.services import consent_change
from contacts.models import Contact
from contacts.suppression import is_suppressed
from dsr.erasure import contacts_erase
from dsr.intake import submission_create
from dsr.models import DataSubjectRequest, ErasureRecord
from dsr.residue import Identity, residue_scan
from dsr.services import dsr_create, dsr_erase, dsr_start, dsr_verify
from staff.models import AccessedContact
from subscriptions.models import ConsentRequest, Subscription, SubscriptionList
from subscriptions.services import RequestMeta, signup, subscription_set
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the receipt leaves on commit

HOLLY = {"first_name": "Holly", "last_name": "Dickson", "email": "holly@contoso.com", "phone": "+4930901820"}


@pytest.fixture
def holly(logging_on, privacy_officer, client_as):
    """A contact with a long life: consent records, purposes, subscriptions, a pending double
    opt-in, history rows, staff views and an admin log entry naming her."""
    news = PurposeFactory(slug="news", name="Newsletter")
    monthly = SubscriptionList.objects.create(name="Monthly", slug="monthly", purpose=news, min_level=3)
    weekly = SubscriptionList.objects.create(name="Weekly", slug="weekly", purpose=news, min_level=3)
    holly = ContactFactory(**HOLLY)
    consent_change(
        contact=holly, level=3, purposes={news: True}, source=Source.IMPORT, evidence={"file": "x.csv"}
    )
    consent_change(
        contact=holly,
        level=4,
        source=Source.ADMIN,
        actor=privacy_officer,
        justification="Holly Dickson phoned",
    )
    subscription_set(contact=holly, subscription_list=monthly, status="subscribed", source=Source.IMPORT)
    signup(
        subscription_list=weekly, email=HOLLY["email"], first_name="Holly", meta=RequestMeta(ip="10.0.0.1")
    )
    client_as(privacy_officer).get(f"/admin/contacts/contact/{holly.pk}/change/")  # access log
    LogEntry.objects.log_actions(privacy_officer.pk, [holly], CHANGE, change_message="Changed email")
    _journeys_history(holly)
    return holly


def _journeys_history(contact):
    """An enrolment, a task naming her, an interaction and a lead score (issue 7's data)."""
    from django.utils import timezone

    from contacts.services import contact_update
    from journeys.models import Enrolment, Interaction, JourneyTask, Score, ScoringModel
    from tests.factories import make_journey, make_segment

    contact_update(contact=contact, country="DE", reason="test")
    journey = make_journey(segment=make_segment({"all": [{"purpose": "news", "value": True}]}, name="News"))
    Enrolment.objects.create(journey=journey, contact=contact, due_at=timezone.now())
    JourneyTask.objects.create(
        journey=journey, contact=contact, title=f"Call {contact.first_name} {contact.last_name}"
    )
    Interaction.objects.create(
        contact=contact, kind="page_visit", at=timezone.now(), detail="/pricing?email=" + contact.email
    )
    Score.objects.create(
        model=ScoringModel.objects.create(name="Leads", min_level=4),
        contact=contact,
        score=10,
        computed_at=timezone.now(),
    )


def _erase_request(officer, email="holly@contoso.com"):
    request, _ = dsr_create(
        kind="erase", email=email, channel="web", name="Holly Dickson", details="forget me"
    )
    dsr_verify(request=request, actor=officer, how="replied from the address")
    return dsr_start(request=request, actor=officer)


def test_erasure_leaves_no_trace_of_the_person_in_any_table(holly, privacy_officer, smtp):
    bystander = ContactFactory(first_name="Holly", last_name="Other", email="other@contoso.com")
    request = _erase_request(privacy_officer)
    submission_create(kind="access", email=HOLLY["email"], name="Holly Dickson")  # typed on the public page
    before = residue_scan([Identity(**{k: HOLLY[k] for k in ("email", "phone", "first_name", "last_name")})])
    assert not before.clean and {h["table"] for h in before.hits} >= {
        "contacts_contact",
        "contacts_historicalcontact",
        "dsr_datasubjectrequest",
        "django_admin_log",
        "dsr_requestsubmission",
    }  # the scan sees her everywhere before: it is not blind

    record = dsr_erase(request=request, actor=privacy_officer)
    record.refresh_from_db()  # the worker (eager here) wrote the residue scan's verdict

    assert record.residue_clean, record.residue
    assert record.residue["tables_scanned"] > 20
    assert not Contact.objects.filter(pk=holly.pk).exists()
    assert not Contact.history.filter(id=holly.pk).exists()  # the deletion's own snapshot too
    assert not Subscription.history.filter(contact_id=holly.pk).exists()
    assert not PurposeConsent.history.filter(contact_id=holly.pk).exists()
    assert not ConsentRequest.objects.exists()
    assert Contact.objects.get() == bystander  # nobody else was touched
    from journeys.models import Enrolment, Interaction, JourneyTask, Score

    assert Enrolment.objects.filter(contact__isnull=True).count() == 1  # kept for the statistics, anonymous
    assert not (Interaction.objects.exists() or JourneyTask.objects.exists() or Score.objects.exists())
    assert is_suppressed(email="HOLLY@contoso.com") and is_suppressed(phone="030 901820")


def test_consent_records_stay_as_proof_without_the_person_and_the_chain_still_verifies(
    holly, privacy_officer, smtp
):
    records = ConsentChange.objects.filter(contact=holly).count()
    dsr_erase(request=_erase_request(privacy_officer), actor=privacy_officer)
    kept = ConsentChange.objects.filter(pseudonymised=True)
    assert kept.count() == records
    assert all(r.contact_id is None and r.justification == "" and r.evidence == {} for r in kept)
    assert verify().ok


def test_the_request_is_completed_pseudonymised_and_the_requester_gets_a_receipt(
    holly, privacy_officer, smtp
):
    request = _erase_request(privacy_officer)
    record = dsr_erase(request=request, actor=privacy_officer)
    request.refresh_from_db()
    assert request.status == DataSubjectRequest.Status.COMPLETED
    assert (request.requester_email, request.requester_name, request.details) == ("", "", "")
    assert not request.history.filter(requester_email=HOLLY["email"]).exists()
    assert record.request == request and record.contacts_erased == 1

    (body,) = smtp.bodies("holly@contoso.com")
    assert request.reference in body and "Contact: 1" in body
    assert "Consent change record" in body and "Art. 7(1)" in body  # what was kept, and why
    assert "Access" in body or "access" in body
    receipt = record.receipt
    assert receipt["deleted"]["Contact"] == 1 and receipt["deleted"]["Subscription"] >= 1
    assert "Consent change record" in receipt["anonymised"]
    assert "holly" not in str(receipt).lower()  # the proof holds no personal data


def test_the_staff_access_log_keeps_the_id_and_the_admin_log_forgets_the_name(holly, privacy_officer, smtp):
    dsr_erase(request=_erase_request(privacy_officer), actor=privacy_officer)
    assert AccessedContact.objects.filter(contact_id=holly.pk).exists()  # legal hold: ids only
    entry = LogEntry.objects.get(object_id=str(holly.pk))
    assert "Holly" not in entry.object_repr and entry.change_message == ""


def test_a_child_of_an_erased_guardian_is_unlinked_and_restricted_with_a_follow_up(privacy_officer, smtp):
    parent = ContactFactory(**HOLLY)
    child = ContactFactory(first_name="Kim", email="", is_child=True, guardian=parent)
    request = _erase_request(privacy_officer)
    record = dsr_erase(request=request, actor=privacy_officer)
    child.refresh_from_db()
    assert child.guardian is None and child.processing_restricted and child.is_child
    assert f"#{child.pk}" in record.receipt["follow_ups"][0]
    assert child.history.latest().history_change_reason == f"guardian erased ({request.reference})"


def test_every_contact_sharing_the_address_is_erased(privacy_officer, smtp):
    ContactFactory(email="holly@contoso.com", first_name="Holly")
    ContactFactory(email="holly@contoso.com", first_name="H.")
    record = dsr_erase(request=_erase_request(privacy_officer), actor=privacy_officer)
    assert record.contacts_erased == 2 and not Contact.objects.exists()


def test_erasure_refuses_an_unverified_or_wrong_request_and_changes_nothing(holly, privacy_officer, smtp):
    unverified, _ = dsr_create(kind="erase", email=HOLLY["email"], channel="web")
    with pytest.raises(ValidationError, match="Verify"):
        dsr_erase(request=unverified, actor=privacy_officer)
    access, _ = dsr_create(kind="access", email=HOLLY["email"], channel="web")
    dsr_verify(request=access, actor=privacy_officer, how="letter")
    with pytest.raises(ValidationError, match="Only an erasure"):
        dsr_erase(request=access, actor=privacy_officer)
    stranger = _erase_request(privacy_officer, email="nobody@contoso.com")
    with pytest.raises(ValidationError, match="no contact"):
        dsr_erase(request=stranger, actor=privacy_officer)
    assert Contact.objects.filter(pk=holly.pk).exists() and not ErasureRecord.objects.exists()
    assert not is_suppressed(email=HOLLY["email"]) and smtp.messages == []


def test_a_failure_midway_rolls_the_whole_erasure_back(holly, privacy_officer, monkeypatch):
    import dsr.erasure

    def broken(**kwargs):
        raise RuntimeError("disk full")

    records = ConsentChange.objects.filter(contact=holly).count()
    monkeypatch.setattr(dsr.erasure, "suppression_add_digests", broken)  # the last step before the record
    with pytest.raises(RuntimeError):
        contacts_erase(contacts=[holly], actor=privacy_officer)
    assert Contact.objects.filter(pk=holly.pk).exists()
    assert ConsentChange.objects.filter(contact=holly, pseudonymised=False).count() == records
    assert (
        Subscription.objects.filter(contact=holly).exists() and Contact.history.filter(id=holly.pk).exists()
    )


def test_the_officer_reviews_then_erases_in_the_admin_and_the_request_page_shows_the_scan(
    holly, privacy_officer, marketer, client_as, smtp
):
    request = _erase_request(privacy_officer)
    officer = client_as(privacy_officer)
    url = reverse("admin:dsr_datasubjectrequest_erase", args=[request.pk])
    review = officer.get(url).content.decode()
    assert "Consent change record" in review and "anonymised — Proof of consent" in review
    assert Contact.objects.filter(pk=holly.pk).exists()  # looking erases nothing
    assert client_as(marketer).get(url).status_code == 403
    assert client_as(marketer).post(url, {"expected_status": "in_progress"}).status_code == 403

    done = officer.post(url, {"expected_status": "in_progress"}, follow=True).content.decode()
    assert "residue scan found nothing left" in done
    assert "clean — none of the person" in done  # the request page shows the scan's result
    assert not Contact.objects.filter(pk=holly.pk).exists()
    again = officer.post(url, {"expected_status": "in_progress"}, follow=True).content.decode()
    assert "changed meanwhile" in again and ErasureRecord.objects.count() == 1  # a second click does nothing


def test_a_restriction_request_stops_all_processing_of_the_contacts(holly, privacy_officer, client_as):
    from consent.selectors import is_eligible

    assert is_eligible(holly, min_level=1)
    request, _ = dsr_create(kind="restrict", email=HOLLY["email"], channel="web")
    decide = reverse("admin:dsr_datasubjectrequest_decide", args=[request.pk])
    officer = client_as(privacy_officer)
    officer.post(decide, {"action": "restrict", "expected_status": "new"})
    holly.refresh_from_db()
    assert not holly.processing_restricted  # not before the identity is verified
    officer.post(decide, {"action": "verify", "expected_status": "new", "how": "reply from the address"})
    officer.post(decide, {"action": "restrict", "expected_status": "verified"})
    holly.refresh_from_db()
    request.refresh_from_db()
    assert holly.processing_restricted and not is_eligible(holly, min_level=1)
    assert request.status == DataSubjectRequest.Status.COMPLETED
    assert holly.history.first().history_change_reason == f"restriction requested ({request.reference})"


def test_the_database_refuses_to_rewrite_or_delete_an_erasure_record(holly, privacy_officer, smtp):
    from django.db import DatabaseError, connection, transaction

    record = contacts_erase(contacts=[holly], actor=privacy_officer)  # the residue scan's result added once
    record.refresh_from_db()  # the worker (eager here) wrote the residue scan's verdict
    assert record.residue_clean is not None
    for statement, params in [
        ("UPDATE dsr_erasurerecord SET contacts_erased = 0 WHERE id = %s", [record.pk]),
        (
            "UPDATE dsr_erasurerecord SET residue_clean = %s WHERE id = %s",
            [not record.residue_clean, record.pk],
        ),
        ("DELETE FROM dsr_erasurerecord WHERE id = %s", [record.pk]),
    ]:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(statement, params)
    assert ErasureRecord.objects.get().contacts_erased == 1


def _released_bundle(officer, client):
    """An access request of Holly's, its bundle built and released; returns (bundle, link path)."""
    from urllib.parse import urlparse

    from dsr.bundles import bundle_create, bundle_release
    from dsr.models import ExportBundle

    access, _ = dsr_create(kind="access", email=HOLLY["email"], channel="web")
    access = dsr_verify(request=access, actor=officer, how="reply from the address")
    bundle = bundle_create(request=access, actor=officer)
    link = urlparse(bundle_release(bundle=ExportBundle.objects.get(pk=bundle.pk), actor=officer)).path
    assert client.post(link).status_code == 200  # it works before
    return ExportBundle.objects.get(pk=bundle.pk), link


def test_a_failure_after_the_erasure_step_rolls_back_and_leaves_the_files_and_the_link(
    holly, privacy_officer, client, smtp, monkeypatch
):
    from dsr import services
    from dsr.bundles import bundle_dir, zip_path

    bundle, link = _released_bundle(privacy_officer, client)
    request = _erase_request(privacy_officer)
    files = [bundle_dir(bundle) / "snapshot.json", zip_path(bundle)]
    assert all(f.is_file() for f in files)
    real_save = services._save

    def broken(request, actor, reason, *fields):
        if reason == "erased and completed":  # after contacts_erase, inside the same transaction
            raise RuntimeError("database went away")
        return real_save(request, actor, reason, *fields)

    monkeypatch.setattr(services, "_save", broken)
    with pytest.raises(RuntimeError):
        dsr_erase(request=request, actor=privacy_officer)

    assert Contact.objects.filter(pk=holly.pk).exists() and not ErasureRecord.objects.exists()
    assert all(f.is_file() for f in files)  # the rows came back, so the files must still be there
    bundle.refresh_from_db()
    assert bundle.revoked_at is None and client.post(link).status_code == 200


def test_a_released_download_link_answers_gone_after_the_erasure_and_its_files_are_deleted(
    holly, privacy_officer, client, smtp
):
    from dsr.bundles import bundle_dir

    bundle, link = _released_bundle(privacy_officer, client)
    record = dsr_erase(request=_erase_request(privacy_officer), actor=privacy_officer)
    record.refresh_from_db()  # the worker (eager here) wrote the residue scan's verdict

    assert not bundle_dir(bundle).exists()
    bundle.refresh_from_db()
    assert bundle.revoked_at is not None  # revoked, not only missing its file
    assert client.get(link).status_code == 410
    response = client.post(link)
    assert response.status_code == 410 and "erased" in response.content.decode()
    assert record.receipt["files"]["Export bundle files (snapshot and ZIP)"]["files"] == 1
    assert record.residue_clean, record.residue


def _every_file_text(*roots) -> str:
    """Every file under the folders, ZIP members (workbooks included) unpacked, lower-cased: an
    independent look, not the residue scan's own reader."""
    import io
    import zipfile
    from pathlib import Path

    texts = []
    for root in roots:
        for path in Path(root).rglob("*"):
            if not path.is_file():
                continue
            data = path.read_bytes()
            texts.append(data.decode("utf-8", "replace"))
            if data.startswith(b"PK"):
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    for member in archive.namelist():
                        inner = archive.read(member)
                        texts.append(inner.decode("utf-8", "replace"))
                        if inner.startswith(b"PK"):  # the workbook inside the bundle's ZIP
                            with zipfile.ZipFile(io.BytesIO(inner)) as book:
                                texts += [book.read(m).decode("utf-8", "replace") for m in book.namelist()]
    return "\n".join(texts).lower()


def test_erasure_reaches_every_file_and_leaves_nothing_in_any_table_or_file(
    holly, privacy_officer, marketer, client, client_as, smtp, settings
):
    from pathlib import Path

    from django.core.files.base import ContentFile

    from imports.models import ImportRowError, ImportRun, ImportSource
    from imports.services import import_run_start
    from journeys.models import SegmentExport
    from journeys.services import segment_export_start
    from tests.factories import make_segment

    ann = ContactFactory(first_name="Ann", last_name="Other", email="ann@contoso.com", phone="+4930555777")
    consent_change(
        contact=ann, level=3, purposes={holly.purpose_consents.get().purpose: True}, source="import"
    )
    _bundle, link = _released_bundle(privacy_officer, client)
    segment = make_segment({"all": [{"purpose": "news", "value": True}]}, name="Readers")
    for format in ("csv", "xlsx"):
        segment_export_start(segment=segment, user=marketer, format=format)
    source = ImportSource.objects.create(
        name="Shop",
        key_column="Consent ID",
        email_column="Email",
        phone_column="Phone",
        option_column="Option",
        value_column="Value",
    )
    upload = (
        b"Consent ID,Email,Phone,Name,Option,Value\r\n"
        b"1,holly@contoso.com,,Holly Dickson,Newsletter,yes\r\n"
        b"2,,030 901820,,Newsletter,yes\r\n"  # the same person by phone, written as people write it
        b"3,ann@contoso.com,,Ann Other,Newsletter,yes\r\n"
        b"holly@contoso.com,,,,Newsletter,maybe\r\n"  # refused: the report keeps its key
    )
    run = import_run_start(
        source=source, file=ContentFile(upload), file_name="shop.csv", mode=ImportRun.Mode.ALL_OR_NOTHING
    )
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and Path(run.file.path).is_file()  # kept for a resume
    assert ImportRowError.objects.filter(source_key="holly@contoso.com").exists()
    identity = Identity(**{k: HOLLY[k] for k in ("email", "phone", "first_name", "last_name")})
    before = " ".join(h["file"] + "!" + h["member"] for h in residue_scan([identity]).hits if "file" in h)
    for place in (
        "snapshot.json",
        ".zip!contacts.contact.csv",
        ".zip!data.xlsx",
        "segment-exports/",
        "imports/",
    ):
        assert place in before, place  # the scan sees her in every file: it is not blind

    request = _erase_request(privacy_officer)
    review = client_as(privacy_officer).get(reverse("admin:dsr_datasubjectrequest_erase", args=[request.pk]))
    for line in (
        "Export bundle files (snapshot and ZIP) (files)",
        "Segment export files (files)",
        "Import uploads (files)",
    ):
        assert line in review.content.decode()  # the officer sees the files before erasing

    record = dsr_erase(request=request, actor=privacy_officer)
    record.refresh_from_db()  # the worker (eager here) wrote the residue scan's verdict

    assert record.residue_clean, record.residue
    assert record.residue["tables_scanned"] > 20 and record.residue["files_scanned"] >= 1
    page = client_as(privacy_officer).get(reverse("admin:dsr_datasubjectrequest_change", args=[request.pk]))
    assert f"tables or {record.residue['files_scanned']} files" in page.content.decode()
    assert any("VAR_DIR" in folder for folder in record.residue["folders"])
    everything = _every_file_text(settings.VAR_DIR, settings.MEDIA_ROOT)
    for trace in ("holly@contoso.com", "+4930901820", "030 901820", "dickson"):
        assert trace not in everything, trace
    assert "ann@contoso.com" in everything  # the upload is rewritten, not lost: Ann's row stays
    assert client.post(link).status_code == 410
    assert not SegmentExport.objects.exclude(file="").exists()
    assert all("erased" in e.error for e in SegmentExport.objects.all())
    run.refresh_from_db()
    assert run.file and "(erased)" in Path(run.file.path).read_text()
    (body,) = smtp.bodies(HOLLY["email"])[-1:]
    assert "Files naming you" in body and "Segment export files (2)" in body  # the receipt says so too
    assert set(receipt := record.receipt["files"]) == {
        "Export bundle files (snapshot and ZIP)",
        "Segment export files",
        "Import uploads",
    }, receipt


def test_an_officer_links_a_contact_found_later_by_phone_and_the_erasure_reaches_it(
    holly, privacy_officer, marketer, auditor, client_as, smtp
):
    from staff.models import AccessLogEntry

    second = ContactFactory(first_name="H.", last_name="D.", email="", phone="+4930901821")
    request = _erase_request(privacy_officer)
    assert list(request.contacts.all()) == [holly]  # found by her address only
    officer = client_as(privacy_officer)
    discover = reverse("admin:dsr_datasubjectrequest_discover", args=[request.pk])
    page = officer.get(discover, {"q": "030 901821"}).content.decode()
    assert f'name="contact" value="{second.pk}"' in page
    link = reverse("admin:dsr_datasubjectrequest_link", args=[request.pk])
    for other in (marketer, auditor):
        assert (
            client_as(other)
            .post(link, {"contact": [second.pk], "expected_status": "in_progress"})
            .status_code
            == 403
        )
    assert list(request.contacts.all()) == [holly]
    searches = AccessLogEntry.objects.filter(action="discover", user=privacy_officer).count()

    officer.post(link, {"contact": [second.pk], "expected_status": "in_progress"})

    assert set(request.contacts.all()) == {holly, second}
    assert AccessLogEntry.objects.filter(action="discover", user=privacy_officer).count() == searches + 1
    assert request.history.first().history_change_reason == f"linked contacts #{second.pk}"
    bad = officer.post(link, {"contact": ["999999"], "expected_status": "in_progress"}, follow=True)
    assert "erased or merged" in bad.content.decode()  # a clear message, nothing linked
    record = dsr_erase(request=request, actor=privacy_officer)
    assert record.contacts_erased == 2 and not Contact.objects.exists()


def test_a_request_made_with_a_phone_number_only_is_served(privacy_officer, client_as, smtp):
    caller = ContactFactory(first_name="Cal", last_name="Caller", email="", phone="+4930901820")
    officer = client_as(privacy_officer)
    add = reverse("admin:dsr_datasubjectrequest_add")
    empty = {"kind": "erase", "requester_email": "", "requester_phone": "", "channel": "phone"}
    refused = officer.post(add, empty)
    assert refused.status_code == 200 and "email address or phone number" in refused.content.decode()
    wrong = officer.post(add, {**empty, "requester_phone": "12"})
    assert wrong.status_code == 200 and "not a valid phone number" in wrong.content.decode()
    assert not DataSubjectRequest.objects.exists()

    assert (
        officer.post(add, {**empty, "requester_phone": "030 901820", "requester_name": "Cal"}).status_code
        == 302
    )
    request = DataSubjectRequest.objects.get()
    assert (request.requester_email, request.requester_phone) == ("", "+4930901820")
    assert list(request.contacts.all()) == [caller]
    dsr_verify(request=request, actor=privacy_officer, how="called back on the number")
    request = dsr_start(request=request, actor=privacy_officer)
    record = dsr_erase(request=request, actor=privacy_officer)
    record.refresh_from_db()  # the worker (eager here) wrote the residue scan's verdict
    request.refresh_from_db()
    assert record.residue_clean, record.residue
    assert not Contact.objects.exists() and request.status == DataSubjectRequest.Status.COMPLETED
    assert (
        request.requester_phone == "" and not request.history.filter(requester_phone="+4930901820").exists()
    )


def test_a_bundle_under_review_is_withdrawn_by_the_erasure_and_its_page_still_opens(
    holly, privacy_officer, client_as, smtp
):
    from dsr.bundles import bundle_create, bundle_has_files, bundle_release
    from dsr.models import ExportBundle

    access, _ = dsr_create(kind="access", email=HOLLY["email"], channel="web")
    access = dsr_verify(request=access, actor=privacy_officer, how="reply from the address")
    bundle = bundle_create(request=access, actor=privacy_officer)
    dsr_erase(request=_erase_request(privacy_officer), actor=privacy_officer)
    bundle = ExportBundle.objects.get(pk=bundle.pk)
    assert not bundle_has_files(bundle)
    page = client_as(privacy_officer).get(reverse("admin:dsr_exportbundle_change", args=[bundle.pk]))
    assert page.status_code == 200 and "have been deleted" in page.content.decode()
    with pytest.raises(ValidationError, match="withdrawn"):
        bundle_release(bundle=bundle, actor=privacy_officer)


def test_a_bundle_built_while_the_person_is_erased_keeps_no_snapshot(holly, privacy_officer, monkeypatch):
    import dsr.bundle_rows
    from dsr.bundles import bundle_build, bundle_dir
    from dsr.models import ExportBundle

    access, _ = dsr_create(kind="access", email=HOLLY["email"], channel="web")
    access = dsr_verify(request=access, actor=privacy_officer, how="reply from the address")
    bundle = ExportBundle.objects.create(request=access, created_by=privacy_officer)
    real, erased = dsr.bundle_rows.default_rows, []

    def erase_midway(entry, ids, zone):
        rows = real(entry, ids, zone)  # her rows are read ...
        if not erased:  # ... and then the erasure commits, before the snapshot is written
            erased.append(contacts_erase(contacts=[Contact.objects.get(pk=holly.pk)], actor=privacy_officer))
        return rows

    monkeypatch.setattr(dsr.bundle_rows, "default_rows", erase_midway)
    assert bundle_build(bundle_id=bundle.pk) is False
    bundle.refresh_from_db()
    assert bundle.status == ExportBundle.Status.FAILED and "erased" in bundle.error
    assert not bundle_dir(bundle).exists()


def test_an_officers_search_for_the_person_is_forgotten_with_them(holly, privacy_officer, client_as):
    """The posted admin search keeps its term in the session, where the residue scan cannot read."""
    from django.contrib.sessions.models import Session

    from tests.admin_helpers import admin_search

    officer = client_as(privacy_officer)
    changelist = reverse("admin:contacts_contact_changelist")
    admin_search(officer, changelist, HOLLY["email"])
    admin_search(officer, changelist, "Holly Dickson")
    admin_search(officer, changelist, "someone else")

    def kept_terms():
        return [t for s in Session.objects.all() for t in s.get_decoded().get("admin_searches", {}).values()]

    assert HOLLY["email"] in kept_terms()
    contacts_erase(contacts=[holly], actor=privacy_officer)
    assert kept_terms() == ["someone else"]


def test_the_receipt_text_reads_as_words_without_entities_or_internal_names(holly, privacy_officer, smtp):
    """Issue 18: the plain-text receipt showed "access log&#x27;s" and "Datasubjectrequest-contact
    relationship"; a person reads apostrophes and names of what was erased."""
    dsr_erase(request=_erase_request(privacy_officer), actor=privacy_officer)
    (message,) = [m for m in smtp.messages if "holly@contoso.com" in m["To"]]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "&#" not in text and "&amp;" not in text and "&quot;" not in text
    assert "access log's retention period" in text  # the kept record's period, as written
    assert "relationship" not in text.lower() and "datasubjectrequest" not in text.lower()
    assert "Data subject request: linked contacts" in text  # the link table, named in words


def _preview_table(html: str) -> dict:
    """The erase page's table as {bucket: {name: count}}."""
    import html as html_lib
    import re

    table = {}
    for bucket, name, count in re.findall(
        r'<tr data-bucket="(\w+)"><td>([^<]+)</td><td class="count">(\d+)</td>', html
    ):
        table.setdefault(bucket, {})[html_lib.unescape(name)] = int(count)
    return table


def test_the_erasure_preview_gives_the_receipts_numbers(holly, privacy_officer, client_as, smtp):
    """Issue 20: the preview said history 2, purpose history 2, accessed 1; the receipt 3, 4, 2.
    Both now come from the erasure's own code (run, counted, rolled back for the preview)."""
    assert Contact.history.filter(id=holly.pk).count() >= 2
    assert PurposeConsent.history.filter(contact_id=holly.pk).exists()
    assert AccessedContact.objects.filter(contact_id=holly.pk).exists()
    request = _erase_request(privacy_officer)
    officer = client_as(privacy_officer)
    url = reverse("admin:dsr_datasubjectrequest_erase", args=[request.pk])

    preview = _preview_table(officer.get(url).content.decode())
    assert Contact.objects.filter(pk=holly.pk).exists()  # the preview rolled its erasure back
    assert Contact.history.filter(id=holly.pk).exists() and not ErasureRecord.objects.exists()
    officer.post(url, {"expected_status": "in_progress"})

    receipt = ErasureRecord.objects.get().receipt
    assert preview["deleted"] == receipt["deleted"]
    assert preview["deleted"]["Contact (history)"] == receipt["deleted"]["Contact (history)"] >= 3
    assert preview["deleted"]["Purpose consent (history)"] >= 2
    assert preview["anonymised"] == {name: item["rows"] for name, item in receipt["anonymised"].items()}
    assert preview["kept"] == {name: item["rows"] for name, item in receipt["kept"].items()}
    assert preview["kept"]["Accessed contact"] == AccessedContact.objects.filter(contact_id=holly.pk).count()


def test_previewing_the_erasure_of_a_guardian_leaves_the_child_linked(privacy_officer):
    from dsr.erasure import erasure_preview

    parent = ContactFactory(**HOLLY)
    child = ContactFactory(first_name="Kim", email="", is_child=True, guardian=parent)
    preview = erasure_preview(contacts=[parent], actor=privacy_officer)
    child.refresh_from_db()
    assert child.guardian_id == parent.pk and not child.processing_restricted
    assert preview["deleted"]["Contact"] == 1 and len(preview["follow_ups"]) == 1
