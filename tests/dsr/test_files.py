"""Files that hold personal data: segment exports and import uploads under erasure and retention,
and the residue scan's reading of files."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from consent.models import Source
from consent.services import consent_change
from contacts.models import Contact
from core.models import ComplianceSettings
from dsr.erasure import contacts_erase
from dsr.residue import Identity, residue_scan
from imports.files import import_uploads_purge
from imports.models import ImportRun, ImportSource
from imports.services import import_run_process, import_run_start
from journeys.models import SegmentExport
from journeys.services import segment_export_build, segment_export_path, segment_exports_purge
from tests.factories import ContactFactory, PurposeFactory, make_segment

pytestmark = pytest.mark.django_db(transaction=True)  # file work waits for the commit

HOLLY = {"first_name": "Holly", "last_name": "Dickson", "email": "holly@contoso.com", "phone": "+4930901820"}


@pytest.fixture
def news(db):
    return PurposeFactory(slug="news", name="Newsletter")


@pytest.fixture
def holly(news):
    holly = ContactFactory(**HOLLY)
    consent_change(contact=holly, level=3, purposes={news: True}, source=Source.IMPORT)
    return holly


@pytest.fixture
def ann(news):
    ann = ContactFactory(first_name="Ann", last_name="Other", email="ann@contoso.com")
    consent_change(contact=ann, level=3, purposes={news: True}, source=Source.IMPORT)
    return ann


def _export(marketer, format="csv") -> SegmentExport:
    from journeys.models import Segment

    segment = Segment.objects.filter(name="Readers").first() or make_segment(
        {"all": [{"purpose": "news", "value": True}]}, name="Readers"
    )
    export = SegmentExport.objects.create(segment=segment, requested_by=marketer, format=format)
    return segment_export_build(export_id=export.pk)


def _queued_import(monkeypatch, content: bytes, **source) -> ImportRun:
    import imports.tasks

    monkeypatch.setattr(imports.tasks.run_import, "delay", lambda pk: None)  # left queued
    source = ImportSource.objects.create(
        name=f"Shop {ImportSource.objects.count()}",
        key_column="ID",
        email_column="Email",
        option_column="Option",
        value_column="Value",
        **source,
    )
    return import_run_start(source=source, file=ContentFile(content), file_name="shop.xlsx")


def test_an_export_naming_the_person_is_withdrawn_and_its_file_deleted(holly, ann, marketer, privacy_officer):
    export = _export(marketer, "xlsx")
    path = segment_export_path(export)
    assert path.is_file()
    contacts_erase(contacts=[holly], actor=privacy_officer)
    export.refresh_from_db()
    assert not path.exists() and export.file == "" and segment_export_path(export) is None
    assert "erased" in export.error


def test_an_export_that_does_not_name_the_person_stays(holly, ann, marketer, privacy_officer):
    Contact.objects.filter(pk=holly.pk).update(processing_restricted=True)  # not in the export
    export = _export(marketer)
    contacts_erase(contacts=[holly], actor=privacy_officer)
    export.refresh_from_db()
    assert (
        segment_export_path(export).is_file() and "ann@contoso.com" in segment_export_path(export).read_text()
    )


def test_an_export_being_written_during_an_erasure_keeps_no_file(
    holly, ann, marketer, privacy_officer, monkeypatch
):
    import journeys.services.segment_exports

    real = journeys.services.segment_exports.write_workbook

    def erase_meanwhile(out, **kwargs):
        # The member query already ran (with Holly) when the erasure commits.
        contacts_erase(contacts=[Contact.objects.get(pk=holly.pk)], actor=privacy_officer)
        return real(out, **kwargs)

    monkeypatch.setattr(journeys.services.segment_exports, "write_workbook", erase_meanwhile)
    export = _export(marketer, "xlsx")
    assert export.status == SegmentExport.Status.FAILED and "erasure" in export.error
    assert not list(
        (Path(export.segment_id and ComplianceSettings.load() and _media()) / "segment-exports").glob("*")
    )


def _media() -> Path:
    from django.conf import settings

    return Path(settings.MEDIA_ROOT)


def test_an_unfinished_upload_loses_the_persons_rows_and_still_imports_the_others(
    holly, ann, privacy_officer, monkeypatch
):
    from tests.imports.conftest import xlsx_bytes

    run = _queued_import(
        monkeypatch,
        xlsx_bytes(
            [
                ["1", "holly@contoso.com", "Newsletter", "no"],
                ["2", "ann@contoso.com", "Newsletter", "no"],
            ],
            header=["ID", "Email", "Option", "Value"],
        ),
    )
    contacts_erase(contacts=[holly], actor=privacy_officer)
    run.refresh_from_db()
    assert "holly" not in Path(run.file.path).read_text().lower()

    import_run_process(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.total_rows, run.applied_rows, run.refused_rows) == ("done", 2, 1, 1)
    assert not ann.purpose_consents.get().granted  # Ann's row applied from the rewritten file


def test_retention_deletes_old_export_files_and_old_unfinished_uploads(ann, marketer, monkeypatch):
    settings = ComplianceSettings.load()
    settings.segment_export_retention_days = settings.import_upload_retention_days = 10
    settings.save()
    old, recent = _export(marketer), _export(marketer)
    SegmentExport.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=11))
    old_path, recent_path = segment_export_path(old), segment_export_path(recent)
    stale = _queued_import(monkeypatch, b"ID,Email,Option,Value\r\n1,ann@contoso.com,Newsletter,yes\r\n")
    fresh = _queued_import(
        monkeypatch, b"ID,Email,Option,Value\r\n1,ann@contoso.com,Newsletter,yes\r\n", refresh_path=""
    )
    ImportRun.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=11))
    stale_path, fresh_path = Path(stale.file.path), Path(fresh.file.path)

    assert segment_exports_purge() == 1 and import_uploads_purge() == 1
    assert not old_path.exists() and recent_path.is_file()
    old.refresh_from_db()
    assert old.file == "" and "10 days" in old.error
    stale.refresh_from_db()
    assert not stale_path.exists() and fresh_path.is_file()
    assert stale.status == ImportRun.Status.FAILED and "10 days" in stale.error
    assert segment_exports_purge() == 0 and import_uploads_purge() == 0  # idempotent


def test_the_residue_scan_reads_files_names_the_places_and_is_not_clean_while_one_holds_the_person(
    privacy_officer,
):
    import io
    import json
    import zipfile

    folder = _media() / "elsewhere"
    folder.mkdir(parents=True)
    (folder / "notes.csv").write_text("id;phone\n7;030 901820\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("people.json", json.dumps([{"first": "Holly", "last": "Dickson"}]))
    (folder / "bundle.zip").write_bytes(buffer.getvalue())
    (folder / "other.json").write_text(json.dumps([{"first": "Holly"}, {"last": "Dickson"}]))
    (folder / "Holly Dickson.txt").write_text("nothing inside")

    report = residue_scan([Identity(**HOLLY)])
    assert not report.clean
    places = {(h["file"], h["member"], h["found"]) for h in report.hits if "file" in h}
    assert places == {
        ("VAR_DIR/media/elsewhere/notes.csv", "", "phone"),
        ("VAR_DIR/media/elsewhere/bundle.zip", "people.json", "name"),
        ("VAR_DIR/media/elsewhere/(a file named after the person)", "", "name"),
    }  # two names in two different records are not the person
    assert "Dickson" not in str(report.as_json())  # the report names places, never the person
    assert report.files_scanned == 4 and report.tables_scanned > 20
    assert [f.split(" ")[0] for f in report.as_json()["folders"]] == [
        "VAR_DIR",
        "MEDIA_ROOT",
        "IMPORT_DROP_DIR",
    ]


def test_a_person_is_found_in_an_upload_from_an_older_system_however_the_number_is_written(tmp_path):
    from core.filescan import file_mentions

    jurgen = Identity(first_name="Jürgen", last_name="Müller", phone="+4930901820")
    by_name = tmp_path / "latin1.csv"
    by_name.write_bytes("id;name\n1;Jürgen Müller\n".encode("cp1252"))
    by_phone = tmp_path / "phone.csv"
    by_phone.write_text("id;phone\n1;+49 (30) 90-18-20\n")
    neither = tmp_path / "other.csv"
    neither.write_bytes("id;name;phone\n1;Jürgen Schmidt;+49 30 901821\n2;Anna Müller;\n".encode("cp1252"))
    assert file_mentions(by_name, [jurgen]) and file_mentions(by_phone, [jurgen])
    assert not file_mentions(neither, [jurgen])
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04 not really a workbook")
    assert file_mentions(damaged, [jurgen])  # unreadable counts as hers: withdrawn, not left unread
