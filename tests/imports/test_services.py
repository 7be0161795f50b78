"""Consent imports as a privacy officer sees them: consent on the right contacts, change records
naming file and row, a report of refused rows, and nothing half-applied."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from consent.models import ConsentChange, Purpose, PurposeConsent
from contacts.models import Contact
from contacts.suppression import suppression_add
from imports.models import ImportedConsent, ImportRun, ImportSource
from imports.services import (
    import_run_process,
    import_run_resume,
    import_runs_resume_stalled,
    import_sources_refresh,
)
from tests.factories import ContactFactory, with_consent
from tests.imports.conftest import ISSUE_ROWS, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db


def answers(contact) -> dict[str, bool]:
    return dict(PurposeConsent.objects.filter(contact=contact).values_list("purpose__slug", "granted"))


def report(run) -> list[tuple[int, str]]:
    return list(run.row_errors.values_list("row", "reason"))


def test_the_issue_example_lands_on_every_contact_sharing_the_address(
    source, run_import, logging_on, privacy_officer
):
    first = ContactFactory(email="Holly@Contoso.com")
    second = ContactFactory(email="holly@contoso.com")
    other = ContactFactory(email="someone@contoso.com")

    run = run_import(source, csv_bytes(ISSUE_ROWS), name="shop-export.csv", actor=privacy_officer)

    assert run.status == ImportRun.Status.DONE
    assert (run.applied_rows, run.refused_rows, run.changes) == (2, 0, 4)
    for contact in (first, second):
        assert answers(contact) == {"newsletter": False, "product-updates": True}
    assert answers(other) == {}
    records = ConsentChange.objects.filter(contact=first).order_by("id")
    assert [(r.source, r.purpose.slug, r.new_value) for r in records] == [
        ("import", "newsletter", "False"),
        ("import", "product-updates", "True"),
    ]
    assert records[1].evidence == {
        "import_run": run.pk,
        "import_source": "Web shop",
        "file": "shop-export.csv",
        "row": 3,
        "source_key": "2",
    }
    assert records[1].actor == privacy_officer
    assert records[1].effective_at == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert not run.file.storage.exists(run.file.name)  # the export is not kept once imported


def test_an_unknown_address_becomes_a_new_contact(source, run_import):
    run_import(source, csv_bytes(ISSUE_ROWS))
    contact = Contact.objects.get(email="holly@contoso.com")
    assert answers(contact) == {"newsletter": False, "product-updates": True}


def test_reimporting_the_same_file_changes_nothing(source, run_import, logging_on):
    ContactFactory(email="holly@contoso.com")
    run_import(source, csv_bytes(ISSUE_ROWS))
    records = ConsentChange.objects.count()

    again = run_import(source, xlsx_bytes(ISSUE_ROWS), name="same-as-excel.xlsx")

    assert again.status == ImportRun.Status.DONE
    assert (again.applied_rows, again.unchanged_rows, again.changes) == (0, 2, 0)
    assert ConsentChange.objects.count() == records


def test_only_a_changed_row_writes_a_change_record(source, run_import, logging_on):
    holly = ContactFactory(email="holly@contoso.com")
    run_import(source, csv_bytes(ISSUE_ROWS))
    before = ConsentChange.objects.count()

    changed = [[*ISSUE_ROWS[0][:3], "yes", "2026-03-05"], ISSUE_ROWS[1]]
    run = run_import(source, csv_bytes(changed))

    assert (run.applied_rows, run.unchanged_rows) == (1, 1)
    assert ConsentChange.objects.count() == before + 1
    assert answers(holly) == {"newsletter": True, "product-updates": True}


def test_refused_rows_are_reported_with_their_number_and_reason(source, run_import):
    rows = [
        ["1", "holly@contoso.com", "Newsletter", "maybe", "2026-03-01"],
        ["2", "holly@contoso.com", "Newsletter", "true", "2026-02-30"],
        ["", "holly@contoso.com", "Newsletter", "true", "2026-03-01"],
        ["4", "holly@contoso.com", "Horoscope", "true", "2026-03-01"],
        ["5", "not-an-address", "Newsletter", "true", "2026-03-01"],
        ["6", "holly@contoso.com", "Newsletter", "true", "03/04/2026"],
        ["7", "holly@contoso.com", "Newsletter", "true", "2099-01-01"],
        ["8", "holly@contoso.com", "Product updates", "ja", "01.03.2026"],
        ["8", "holly@contoso.com", "Newsletter", "nein", "2026-03-01"],
    ]
    run = run_import(source, csv_bytes(rows))

    assert run.status == ImportRun.Status.DONE
    assert (run.applied_rows, run.refused_rows) == (1, 8)
    assert report(run) == [
        (2, "“maybe” is not a consent value (use true/false, yes/no, 1/0)."),
        (3, "“2026-02-30” is not a date (use 2026-03-01 or 01.03.2026)."),
        (4, "The row has no primary key."),
        (5, "Unknown consent option “Horoscope”."),
        (6, "The email address is not valid."),
        (7, "The date “03/04/2026” is ambiguous (day/month or month/day?); write it as 2026-03-01."),
        (8, "The date lies in the future."),
        (10, "The primary key “8” appears twice in the file."),
    ]
    assert answers(Contact.objects.get(email="holly@contoso.com")) == {"product-updates": True}


def test_one_refused_row_in_all_or_nothing_applies_nothing(source, run_import, logging_on):
    rows = [*ISSUE_ROWS, ["3", "new@contoso.com", "Newsletter", "perhaps", "2026-03-01"]]
    run = run_import(source, csv_bytes(rows), mode=ImportRun.Mode.ALL_OR_NOTHING)

    assert run.status == ImportRun.Status.FAILED
    assert run.error == "1 rows were refused, so nothing was imported (all or nothing)."
    assert report(run) == [(4, "“perhaps” is not a consent value (use true/false, yes/no, 1/0).")]
    assert not Contact.objects.exists() and not PurposeConsent.objects.exists()
    assert not ConsentChange.objects.exists() and not ImportedConsent.objects.exists()


def test_all_or_nothing_applies_a_clean_file(source, run_import):
    run = run_import(source, csv_bytes(ISSUE_ROWS), mode=ImportRun.Mode.ALL_OR_NOTHING)
    assert run.status == ImportRun.Status.DONE and run.applied_rows == 2
    assert answers(Contact.objects.get()) == {"newsletter": False, "product-updates": True}


def test_rows_of_an_erased_person_are_refused(source, run_import):
    suppression_add(email="holly@contoso.com", reason="DSR-0001")
    run = run_import(source, csv_bytes(ISSUE_ROWS))
    assert report(run) == [(2, "This person's data was erased; their rows are refused.")] * 1 + [
        (3, "This person's data was erased; their rows are refused.")
    ]
    assert not Contact.objects.exists()


def test_unknown_options_become_purposes_when_the_mapping_says_so(source, run_import):
    source.unknown_options = ImportSource.UnknownOptions.CREATE
    source.save()
    run_import(source, csv_bytes([["1", "holly@contoso.com", "Partner offers", "yes", "2026-03-01"]]))
    purpose = Purpose.objects.get(name="Partner offers")
    assert answers(Contact.objects.get()) == {purpose.slug: True}


def test_option_names_follow_the_mapping(source, run_import):
    source.option_map = {"News by email": "newsletter"}
    source.save()
    run_import(source, csv_bytes([["1", "holly@contoso.com", "News by email", "1", "2026-03-01"]]))
    assert answers(Contact.objects.get()) == {"newsletter": True}


def test_the_consent_services_refusal_refuses_the_row_and_nothing_of_it_applies(source, run_import):
    source.level_column = "Level"
    source.save()
    guardian = ContactFactory(email="parent@contoso.com")
    child = ContactFactory(email="kid@contoso.com", is_child=True, guardian=guardian)
    header = ["Consent ID", "Email", "Consent option", "Consent value", "Date", "Level"]
    rows = [
        ["1", "kid@contoso.com", "Newsletter", "yes", "2026-03-01", "5"],
        ["2", "parent@contoso.com", "Newsletter", "yes", "2026-03-01", "5"],
    ]
    run = run_import(source, csv_bytes(rows, header=header))

    assert report(run) == [(2, "A child can never be given Profiling consent (GDPR Art. 8).")]
    child.refresh_from_db()
    guardian.refresh_from_db()
    assert child.consent_given == 0 and answers(child) == {}
    assert guardian.consent_given == 5 and answers(guardian) == {"newsletter": True}


def test_a_row_refused_for_one_contact_sharing_the_address_changes_none_of_them(source, run_import):
    source.level_column = "Level"
    source.save()
    parent = ContactFactory(email="family@contoso.com")
    child = ContactFactory(email="family@contoso.com", is_child=True, guardian=parent)
    header = ["Consent ID", "Email", "Consent option", "Consent value", "Date", "Level"]
    rows = [["1", "family@contoso.com", "Newsletter", "yes", "2026-03-01", "5"]]
    run = run_import(source, csv_bytes(rows, header=header))

    assert report(run) == [(2, "A child can never be given Profiling consent (GDPR Art. 8).")]
    parent.refresh_from_db()
    assert parent.consent_given == 0 and answers(parent) == {} and answers(child) == {}
    assert not ImportedConsent.objects.exists()


def test_phone_numbers_unify_in_any_notation(source, run_import):
    source.email_column, source.phone_column = "", "Phone"
    source.save()
    contact = ContactFactory(email="", phone="+49 30 1234567")
    header = ["Consent ID", "Phone", "Consent option", "Consent value", "Date"]
    run_import(source, csv_bytes([["1", "030 1234567", "Newsletter", "yes", "2026-03-01"]], header=header))
    assert answers(contact) == {"newsletter": True}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(ImportSource.RemovedConsent.WITHDRAW, False), (ImportSource.RemovedConsent.KEEP, True)],
)
def test_consent_gone_from_the_export_is_handled_as_mapped(source, run_import, logging_on, policy, expected):
    source.removed_consent = policy
    source.save()
    holly = ContactFactory(email="holly@contoso.com")
    run_import(source, csv_bytes(ISSUE_ROWS))

    run = run_import(source, csv_bytes(ISSUE_ROWS[:1]))

    assert answers(holly) == {"newsletter": False, "product-updates": expected}
    assert run.withdrawn == (1 if expected is False else 0)
    if expected is False:
        record = ConsentChange.objects.filter(contact=holly).latest("id")
        assert record.evidence["removed_from_export"] is True and record.evidence["source_key"] == "2"


def test_a_file_that_cannot_be_read_fails_with_a_clear_message(source, run_import):
    run = run_import(source, b"\xd0\xcf\x11\xe0old excel", name="old.xls")
    assert run.status == ImportRun.Status.FAILED
    assert run.error == "This is an old Excel file (.xls). Save it as .xlsx or CSV and upload again."


def test_a_missing_column_fails_the_run_and_names_it(source, run_import):
    run = run_import(source, csv_bytes(ISSUE_ROWS, header=["Consent ID", "Email", "Option", "Value", "Date"]))
    assert run.status == ImportRun.Status.FAILED
    assert run.error.startswith("The column “Consent option” is missing; the file has: Consent ID, Email,")


def _rows(count):
    return [
        [str(n), f"p{n}@contoso.com", "Newsletter", "yes" if n % 2 else "no", "2026-03-01"]
        for n in range(count)
    ]


def test_a_crash_inside_a_chunk_resumes_without_applying_a_row_twice(
    source, run_import, logging_on, settings, monkeypatch
):
    """Stands in for a killed worker: the chunk in flight rolls back, the rerun continues after
    the last committed chunk, and the result equals an uninterrupted run."""
    from imports.services import runs as services  # the module whose runs call _process_chunk

    settings.IMPORT_CHUNK_ROWS = 3
    real, calls = services._process_chunk, []

    def crash_on_third_chunk(ctx, chunk):
        calls.append(len(chunk))
        if len(calls) == 3:
            real(ctx, chunk)  # its changes are written, then lost with the transaction
            raise RuntimeError("worker lost")
        return real(ctx, chunk)

    monkeypatch.setattr(services, "_process_chunk", crash_on_third_chunk)
    with pytest.raises(RuntimeError):
        run_import(source, csv_bytes(_rows(10)))
    run = ImportRun.objects.get()
    assert run.next_row == 6 and ConsentChange.objects.count() == 6

    monkeypatch.setattr(services, "_process_chunk", real)
    import_run_resume(run=run)
    run = import_run_process(run_id=run.pk)

    assert run.status == ImportRun.Status.DONE
    assert (run.next_row, run.applied_rows, run.refused_rows) == (10, 10, 0)
    assert ConsentChange.objects.count() == 10  # one record per row, none twice
    assert {c.email: answers(c)["newsletter"] for c in Contact.objects.all()} == {
        f"p{n}@contoso.com": bool(n % 2) for n in range(10)
    }


def test_a_finished_run_is_not_resumed(source, run_import):
    run = run_import(source, csv_bytes(ISSUE_ROWS))
    with pytest.raises(ValidationError):
        import_run_resume(run=run)
    assert import_run_process(run_id=run.pk).applied_rows == 2  # a duplicate delivery does nothing


def test_the_nightly_refresh_imports_a_changed_drop_file_and_only_changed_rows(
    source, settings, eager, django_capture_on_commit_callbacks, logging_on
):
    folder = settings.IMPORT_DROP_DIR / "shop"
    folder.mkdir()
    (folder / "export-1.csv").write_bytes(csv_bytes(ISSUE_ROWS))
    source.refresh_path, source.refresh_enabled = "shop", True
    source.full_clean()
    source.save()

    with django_capture_on_commit_callbacks(execute=True):
        assert len(import_sources_refresh()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert import_sources_refresh() == []  # unchanged file: nothing starts
    records = ConsentChange.objects.count()

    newer = folder / "export-2.csv"
    newer.write_bytes(csv_bytes([ISSUE_ROWS[0], [*ISSUE_ROWS[1][:3], "false", "2026-03-02"]]))
    with django_capture_on_commit_callbacks(execute=True):
        (run,) = import_sources_refresh()
    run.refresh_from_db()
    assert (run.trigger, run.file_name, run.applied_rows, run.unchanged_rows) == (
        "refresh",
        "export-2.csv",
        1,
        1,
    )
    assert ConsentChange.objects.count() == records + 1


@pytest.mark.parametrize("path", ["../outside", "/etc/passwd", "shop/../../x"])
def test_a_refresh_path_outside_the_drop_folder_is_refused(source, path):
    source.refresh_path, source.refresh_enabled = path, True
    with pytest.raises(ValidationError) as error:
        source.full_clean()
    assert "refresh_path" in error.value.message_dict


def test_imported_consent_is_found_by_data_subject_request_discovery(source, run_import):
    from dsr.discovery import discover

    run_import(source, csv_bytes(ISSUE_ROWS))
    findings = {f.model: f for f in discover([Contact.objects.get()])}
    assert findings["Imported consent"].rows == 2
    assert findings["Imported consent"].erasure == "delete the rows"


def test_only_runs_silent_for_too_long_are_resumed(
    source, settings, eager, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    now = timezone.now()
    old = now - dt.timedelta(minutes=settings.IMPORT_STALL_MINUTES + 1)

    def make(mode, heartbeat):
        return ImportRun.objects.create(
            source=source,
            file_name="x.csv",
            file_sha256="0",
            mode=mode,
            status="running",
            heartbeat_at=heartbeat,
        )

    stalled = make(ImportRun.Mode.VALID_ROWS, old)
    busy = make(ImportRun.Mode.VALID_ROWS, now)
    one_transaction = make(ImportRun.Mode.ALL_OR_NOTHING, old)  # commits no heartbeat while it works

    with django_capture_on_commit_callbacks(execute=True):
        assert import_runs_resume_stalled(now=now) == 1
    for run in (stalled, busy, one_transaction):
        run.refresh_from_db()
    assert stalled.attempts == 1 and stalled.status == ImportRun.Status.FAILED  # rerun (its file is gone)
    assert (busy.status, busy.attempts, one_transaction.status) == ("running", 0, "running")


def test_a_link_in_the_drop_folder_to_a_file_elsewhere_is_not_read(source, settings, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_bytes(csv_bytes(ISSUE_ROWS))
    folder = settings.IMPORT_DROP_DIR / "shop"
    folder.mkdir()
    (folder / "export.csv").symlink_to(outside)
    source.refresh_path, source.refresh_enabled = "shop", True
    source.save()
    assert import_sources_refresh() == []
    assert not ImportRun.objects.exists()


def test_an_older_row_does_not_overwrite_a_newer_answer_from_another_channel(source, run_import, logging_on):
    """A withdrawal given in the admin after the export was written must survive the import."""
    holly = with_consent(ContactFactory(email="holly@contoso.com"), purposes={"newsletter": False})
    twin = ContactFactory(email="Holly@contoso.com")  # shares the address, has no answer yet
    rows = [
        ["1", "holly@contoso.com", "Newsletter", "yes", "2026-03-01"],
        ["2", "new@contoso.com", "Newsletter", "yes", "2026-03-01"],
        ["3", "new@contoso.com", "Newsletter", "no", "2026-02-01"],  # older than row 2 for the same person
    ]
    run = run_import(source, csv_bytes(rows))

    assert answers(holly) == {"newsletter": False}
    assert answers(twin) == {"newsletter": True}  # the row is newer than what the twin holds
    assert answers(Contact.objects.get(email="new@contoso.com")) == {"newsletter": True}
    ((row, reason),) = report(run)
    assert row == 4 and reason.startswith("A newer answer for “Newsletter” exists (given 2026-03-01")


def test_a_refused_row_does_not_make_a_later_older_row_of_the_same_person_look_outdated(source, run_import):
    """The newer row is refused by the consent service, so the older one meets the answer the
    person really holds (none) and applies; it used to be refused as older than the refused row."""
    source.level_column = "Level"
    source.save()
    guardian = ContactFactory(email="parent@contoso.com")
    child = ContactFactory(email="kid@contoso.com", is_child=True, guardian=guardian)
    header = ["Consent ID", "Email", "Consent option", "Consent value", "Date", "Level"]
    rows = [
        ["1", "kid@contoso.com", "Newsletter", "yes", "2026-03-02", "5"],  # a child: never profiling
        ["2", "kid@contoso.com", "Newsletter", "yes", "2026-03-01", "3"],
    ]
    run = run_import(source, csv_bytes(rows, header=header))

    assert report(run) == [(2, "A child can never be given Profiling consent (GDPR Art. 8).")]
    child.refresh_from_db()
    assert child.consent_given == 3 and answers(child) == {"newsletter": True}


def test_withdrawal_of_a_row_gone_from_the_export_spares_a_newer_answer(source, run_import):
    source.removed_consent = ImportSource.RemovedConsent.WITHDRAW
    source.save()
    holly = ContactFactory(email="holly@contoso.com")
    twin = ContactFactory(email="Holly@Contoso.com")
    run_import(source, csv_bytes(ISSUE_ROWS))
    # The twin withdrew, then agreed again by phone: their newest answer is not the import's.
    for granted in (False, True):
        with_consent(twin, purposes={"product-updates": granted}, source="admin", justification="by phone")

    run_import(source, csv_bytes(ISSUE_ROWS[:1]))

    assert answers(holly) == {"newsletter": False, "product-updates": False}
    assert answers(twin) == {"newsletter": False, "product-updates": True}


def test_a_consent_level_in_other_digits_is_refused_in_words():
    from imports.services import RowRefused, parse_level

    for value in ("²", "٣"):
        with pytest.raises(RowRefused):
            parse_level(value)
