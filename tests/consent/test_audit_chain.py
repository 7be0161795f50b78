"""The consent change chain finds what was changed behind the application's back, and says only
true things: every record sealed as stored, every column covered, truncation found through signed
checkpoints, every bad record counted (issue 16)."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django_celery_beat.models import PeriodicTask

from consent import audit_chain, audit_seals
from consent.audit_chain import audit_checkpoint_take, canonical, verify
from consent.models import AuditCheckpoint, AuditStretchSeal, ConsentChange, Source
from consent.services import consent_change, contacts_create_with_consent
from dsr.erasure import contacts_erase
from tests.factories import ContactFactory, PurposeFactory, UserFactory
from tests.tamper import tamper

pytestmark = pytest.mark.django_db


# On PostgreSQL every test runs twice: with the chain walked whole, and after a verification has
# sealed it in stretches of two records (consent.audit_seals), so each attack must also get past
# the seals.
WAYS = ["walked", "sealed"] if "postgresql" in django_settings.DATABASES["default"]["ENGINE"] else ["walked"]


@pytest.fixture(params=WAYS)
def chain(request, logging_on, privacy_officer, monkeypatch):
    """Five records: three by hand for one contact, two from a bulk import."""
    contact = ContactFactory()
    for level in (1, 3, 2):
        consent_change(
            contact=contact,
            level=level,
            source=Source.ADMIN,
            actor=privacy_officer,
            channel="phone",
            justification=f"call {level}",
            evidence={"call": level},
        )
    contacts_create_with_consent(
        rows=[{"email": "a@example.org", "consent_given": 2}] * 2, source=Source.IMPORT
    )
    if request.param == "sealed":
        monkeypatch.setattr(audit_seals, "AUDIT_STRETCH_IDS", 2)
        assert verify().walked == 5 and AuditStretchSeal.objects.count() >= 3
        assert verify().walked == 0  # sealed: the attacks below must get past the seals
    return list(ConsentChange.objects.order_by("id"))


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_untouched_chain_verifies(chain, capsys):
    result = verify()
    assert result.ok and result.checked == 5 and result.bad_count == 0
    call_command("verify_audit_trail")
    assert "intact: 5 records" in capsys.readouterr().out


def test_each_record_links_to_the_one_before(chain):
    assert all(later.prev_hash == earlier.chain_hash for earlier, later in itertools.pairwise(chain))


def test_a_value_edited_by_sql_is_reported_with_its_record(chain):
    tamper("UPDATE consent_consentchange SET new_value = '5' WHERE id = %s", [chain[2].id])
    result = verify()
    assert not result.ok and result.first_bad_id == chain[2].id
    with pytest.raises(CommandError, match="1 problems in 5 records"):
        call_command("verify_audit_trail")


def test_a_rewritten_justification_is_reported(chain):
    tamper("UPDATE consent_consentchange SET justification = 'nothing happened' WHERE id = %s", [chain[1].id])
    assert verify().first_bad_id == chain[1].id


def test_a_removed_record_is_reported_at_the_next_one(chain):
    tamper("DELETE FROM consent_consentchange WHERE id = %s", [chain[1].id])
    result = verify()
    assert result.first_bad_id == chain[2].id and "removed or inserted" in result.problem


def test_records_removed_from_the_end_are_reported(chain):
    tamper("DELETE FROM consent_consentchange WHERE id = %s", [chain[-1].id])
    result = verify()
    assert not result.ok and "end of the chain" in result.problem


def test_a_record_inserted_by_sql_is_reported(chain):
    sql(
        "INSERT INTO consent_consentchange (contact_id, field, old_value, new_value, source, channel, justification,"
        " evidence, effective_at, recorded_at, prev_hash, chain_hash, personal_digest, subject_tag, pseudonymised)"
        " VALUES (%s, 'consent_given', '2', '5', 'admin', '', 'forged', '{}', %s, %s, %s, %s, '', '', %s)",
        [
            chain[0].contact_id,
            chain[-1].recorded_at,
            chain[-1].recorded_at,
            chain[-1].chain_hash,
            "f" * 64,
            False,
        ],
    )
    assert not verify().ok


# --- what is sealed is what is stored ------------------------------------------------------------

ANY_JSON = [
    {"form_version": 1e16},
    {"big": 2**70, "negative big": -(2**64) - 1},
    {"floats": [0.1, -0.0, 1e-7, 1.5e300, 5e-324, 1.0, 123456789.123456789]},
    {"unicode": 'Grüße, 東京 😀 \u2028 "quoted" \\ back', "ünïcödé kéy": True},
    {"z": {"b": [1, {"d": None, "c": [False, []]}], "a": {}}, "a": "first", "": "empty key"},
    {"deep": [[[[[[{"x": [1.25e-5]}]]]]]]},
]


@pytest.mark.parametrize("evidence", ANY_JSON, ids=lambda e: next(iter(e)))
def test_any_json_evidence_verifies_after_the_round_trip_through_the_database(logging_on, evidence):
    consent_change(contact=ContactFactory(), level=2, source=Source.IMPORT, evidence=evidence)
    result = verify()
    assert result.ok, result.summary()
    stored = ConsentChange.objects.get()
    # The service adds the level wording shown (core.levels); the rest is the evidence as given.
    assert stored.evidence.pop("level_wording")["level"] == 2
    assert canonical(stored.evidence) == canonical(evidence)


def test_the_same_value_spelt_differently_is_one_canonical_text():
    # What PostgreSQL's jsonb gives back for what was sent.
    assert canonical({"v": 1e16}) == canonical({"v": 10000000000000000})
    assert canonical(-0.0) == canonical(0) == "0"
    assert canonical(1e-7) == canonical(0.0000001)
    assert canonical(1.0) == canonical(1)
    assert canonical(2**70) != canonical(float(2**70) + 2**20)  # big integers stay exact
    assert canonical({"b": 1, "a": 2}) == canonical({"a": 2, "b": 1})


@pytest.mark.parametrize(
    ("evidence", "problem"),
    [
        ({"score": float("nan")}, "finite"),
        ({"score": float("inf")}, "finite"),
        ({"note": "a\x00b"}, "NUL"),
        ({"note": "\ud800"}, "surrogate"),
        ({"when": datetime(2026, 1, 1, tzinfo=UTC)}, "not a JSON value"),
    ],
)
def test_evidence_no_database_gives_back_is_refused_with_a_message(logging_on, evidence, problem):
    contact = ContactFactory()
    with pytest.raises(ValidationError, match=problem):
        consent_change(contact=contact, level=2, source=Source.IMPORT, evidence=evidence)
    assert not ConsentChange.objects.exists()
    contact.refresh_from_db()
    assert contact.consent_given == 0


def test_an_effective_date_in_another_time_zone_verifies(logging_on):
    moment = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")) - timedelta(
        hours=1
    )
    consent_change(contact=ContactFactory(), level=2, source=Source.IMPORT, effective_at=moment)
    assert verify().ok


# --- every column is covered ---------------------------------------------------------------------

COLUMN_EDITS = {
    "field": "field = 'tracking_allowed'",
    "purpose": "purpose_id = %(purpose)s",
    "old value": "old_value = '4'",
    "new value": "new_value = '5'",
    "source": "source = 'api'",
    "channel": "channel = 'web'",
    "justification": "justification = 'invented'",
    "evidence": "evidence = '{\"call\": 9}'",
    "effective at": "effective_at = %(moment)s",
    "recorded at": "recorded_at = %(moment)s",
    "contact": "contact_id = %(other_contact)s",
    "actor": "actor_id = %(other_actor)s",
    "pseudonymised flag": "pseudonymised = %(true)s",
    "subject tag": "subject_tag = %(tag)s",
}


@pytest.mark.parametrize("edit", COLUMN_EDITS.values(), ids=COLUMN_EDITS.keys())
def test_an_edit_of_any_column_is_reported_with_its_record(chain, edit):
    target = chain[1]
    params = {
        "purpose": PurposeFactory().pk,
        "moment": target.recorded_at - timedelta(days=1),
        "other_contact": ContactFactory().pk,
        "other_actor": UserFactory().pk,
        "true": True,
        "tag": "a" * 64,
    }
    tamper(f"UPDATE consent_consentchange SET {edit} WHERE id = %(id)s", {**params, "id": target.id})
    result = verify()
    assert not result.ok and [pk for pk, _p in result.bad] == [target.id], result.summary()


def test_a_record_marked_pseudonymised_and_moved_to_another_contact_is_found(chain):
    """The first attack of issue 16."""
    other = ContactFactory()
    target = chain[3]  # an import record: no personal fields to blank
    tamper(
        "UPDATE consent_consentchange SET pseudonymised = %s, contact_id = %s WHERE id = %s",
        [True, other.pk, target.id],
    )
    assert [pk for pk, _p in verify().bad] == [target.id]


def test_a_pseudonymisation_made_by_sql_is_told_from_a_real_one(chain):
    target = chain[0]
    # Exactly what an erasure writes, but without the chain's key to make the mark.
    sql(
        "UPDATE consent_consentchange SET contact_id = NULL, channel = '', justification = '',"
        " evidence = '{}', pseudonymised = %s, subject_tag = %s WHERE id = %s",
        [True, "b" * 64, target.id],
    )
    result = verify()
    assert result.bad == [(target.id, audit_chain.FAKE_PSEUDONYM)]


def test_an_erasure_pseudonymises_the_records_and_the_chain_still_verifies(chain, privacy_officer):
    person = chain[0].contact
    contacts_erase(contacts=[person], actor=privacy_officer, scan=False)
    kept = ConsentChange.objects.filter(pk__in=[r.pk for r in chain[:3]])
    assert all(
        r.pseudonymised and r.contact_id is None and not r.justification and not r.evidence for r in kept
    )
    # One (now unknown) person: the same keyed mark on each of their records, not their id.
    assert {r.subject_tag for r in kept} == {audit_chain.subject_hash(person.pk)}
    assert verify().ok, verify().summary()
    tamper("UPDATE consent_consentchange SET justification = 'invented' WHERE id = %s", [chain[0].id])
    tamper(
        "UPDATE consent_consentchange SET contact_id = %s WHERE id = %s", [ContactFactory().pk, chain[1].id]
    )
    tamper("UPDATE consent_consentchange SET actor_id = %s WHERE id = %s", [UserFactory().pk, chain[2].id])
    result = verify()
    assert [pk for pk, _p in result.bad] == [chain[0].id, chain[1].id, chain[2].id]


# --- truncation ------------------------------------------------------------------------------------


def _cut_the_newest_and_roll_back_the_head(chain):
    """The second attack of issue 16: the last record deleted, the head rolled back by one."""
    tamper("DELETE FROM consent_consentchange WHERE id = %s", [chain[-1].id])
    tamper(
        "UPDATE consent_auditchainhead SET length = length - 1, last_hash = %s WHERE id = 1",
        [chain[-2].chain_hash],
    )


def test_removing_the_newest_record_and_rolling_back_the_head_is_found_by_a_checkpoint(chain):
    checkpoint = audit_checkpoint_take()
    assert checkpoint.length == 5 and checkpoint.head_hash == chain[-1].chain_hash
    _cut_the_newest_and_roll_back_the_head(chain)
    result = verify()
    assert not result.ok and result.problems == {audit_chain.CHECKPOINT_MISSING: 1}


def test_truncation_is_found_even_when_the_checkpoint_rows_are_deleted_too(chain, erasure_ledger):
    """Whoever can edit the database deletes the checkpoints as well: their copies outside it remain."""
    audit_checkpoint_take()
    _cut_the_newest_and_roll_back_the_head(chain)
    tamper("DELETE FROM consent_auditcheckpoint")
    result = verify()
    assert not result.ok and result.problems == {audit_chain.CHECKPOINT_MISSING: 1}
    copy = erasure_ledger / "audit-checkpoints.jsonl"
    copy.write_text(copy.read_text().replace('"length": 5', '"length": 4'))  # and an edited copy
    assert verify().problems == {audit_chain.CHECKPOINT_FORGED: 1}


def test_a_checkpoint_the_chain_no_longer_matches_is_reported(chain):
    audit_checkpoint_take()
    tamper("DELETE FROM consent_consentchange WHERE id = %s", [chain[-1].id])
    tamper(
        "UPDATE consent_auditchainhead SET length = length - 1, last_hash = %s WHERE id = 1",
        [chain[-2].chain_hash],
    )
    consent_change(contact=ContactFactory(), level=1, source=Source.IMPORT)  # the chain grows again
    assert audit_chain.CHECKPOINT_DIFFERS in verify().problems


def test_a_forged_or_edited_checkpoint_is_reported(chain):
    audit_checkpoint_take()
    _cut_the_newest_and_roll_back_the_head(chain)
    tamper("UPDATE consent_auditcheckpoint SET length = 4, head_hash = %s", [chain[-2].chain_hash])
    # The edited row is forged; its copy outside the database still names the removed record.
    assert verify().problems == {audit_chain.CHECKPOINT_FORGED: 1, audit_chain.CHECKPOINT_MISSING: 1}


def test_checkpoints_are_taken_daily_on_demand_and_after_a_verification(chain, capsys, client_as, auditor):
    task = PeriodicTask.objects.get(task="consent.audit_checkpoint")
    assert task.enabled and task.crontab is not None
    call_command("audit_checkpoint")
    assert f"5 records, head {chain[-1].chain_hash}" in capsys.readouterr().out
    from django.urls import reverse

    page = client_as(auditor).post(reverse("consent-verify-trail"), follow=True).content.decode()
    assert "Signed checkpoint" in page and AuditCheckpoint.objects.count() == 2
    assert "Latest signed checkpoint: 5 records" in page


# --- every bad record, with counts ----------------------------------------------------------------


def test_every_bad_record_is_reported_with_counts_per_problem(chain, capsys):
    tamper(
        "UPDATE consent_consentchange SET new_value = '5' WHERE id IN (%s, %s)", [chain[0].id, chain[3].id]
    )
    tamper("DELETE FROM consent_consentchange WHERE id = %s", [chain[1].id])
    result = verify()
    assert result.bad == [
        (chain[0].id, audit_chain.EDITED),
        (chain[2].id, audit_chain.REMOVED_OR_INSERTED),
        (chain[3].id, audit_chain.EDITED),
        (None, audit_chain.MISCOUNTED),
    ]
    assert result.problems[audit_chain.EDITED] == 2 and result.bad_count == 4
    with pytest.raises(CommandError, match=r"4 problems in 4 records \(its content was edited: 2"):
        call_command("verify_audit_trail")
    assert f"record #{chain[3].id}: its content was edited" in capsys.readouterr().err


def test_the_list_of_bad_records_is_capped_but_every_one_is_counted(chain, monkeypatch):
    monkeypatch.setattr(audit_chain, "MAX_LISTED", 2)
    tamper("UPDATE consent_consentchange SET new_value = '5'")
    result = verify()
    assert len(result.bad) == 2 and result.problems[audit_chain.EDITED] == 5
    assert "Records: " in result.summary() and "…" in result.summary()


# --- the database refuses what the application refuses --------------------------------------------


def _refused(statement, params=()):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(statement, params)


def test_the_database_refuses_updates_and_deletes_of_consent_change_records(chain):
    _refused("UPDATE consent_consentchange SET new_value = '5' WHERE id = %s", [chain[0].id])
    _refused("DELETE FROM consent_consentchange WHERE id = %s", [chain[-1].id])
    # The pseudonymisation's shape, smuggling in one more change.
    _refused(
        "UPDATE consent_consentchange SET contact_id = NULL, channel = '', justification = '', evidence = '{}',"
        " pseudonymised = %s, new_value = '5' WHERE id = %s",
        [True, chain[0].id],
    )
    # Nor may a pseudonymised record be pseudonymised again, onto another mark.
    contacts_erase(contacts=[chain[0].contact], actor=None, scan=False)
    _refused("UPDATE consent_consentchange SET subject_tag = 'x' WHERE id = %s", [chain[0].id])
    with pytest.raises(PermissionError):
        ConsentChange.objects.filter(pk=chain[0].pk).delete()
    assert ConsentChange.objects.count() == 5 and verify().ok


def test_the_database_refuses_updates_and_deletes_of_checkpoints(chain):
    checkpoint = audit_checkpoint_take()
    _refused("UPDATE consent_auditcheckpoint SET length = 1 WHERE id = %s", [checkpoint.pk])
    _refused("DELETE FROM consent_auditcheckpoint WHERE id = %s", [checkpoint.pk])


def test_the_daily_checkpoint_goes_to_the_officers_address_when_one_is_set(chain, mailoutbox):
    from consent.tasks import audit_checkpoint
    from core.models import ComplianceSettings

    assert audit_checkpoint() == 5 and not mailoutbox  # no address: kept in the database only
    settings = ComplianceSettings.load()
    settings.audit_checkpoint_email = "vault@example.org"
    settings.save()
    assert audit_checkpoint() == 5
    (message,) = mailoutbox
    checkpoint = AuditCheckpoint.objects.latest("id")
    assert message.to == ["vault@example.org"] and audit_chain.checkpoint_line(checkpoint) in message.body
    assert chain[0].justification not in message.body  # nothing about anyone


def test_the_walk_reads_the_records_in_batches_and_checks_every_one(chain, settings):
    """At ten million contacts one cursor over the whole chain held its snapshot for hours: the
    records are read LONG_JOB_BATCH_SIZE at a time after the last id, and a break is still found."""
    from django.test.utils import CaptureQueriesContext

    settings.LONG_JOB_BATCH_SIZE = 2
    tamper("UPDATE consent_consentchange SET new_value = '5' WHERE id = %s", [chain[4].id])
    with CaptureQueriesContext(connection) as queries:
        result = verify(whole=True)
    assert result.checked == 5 and result.first_bad_id == chain[4].id and result.bad_count == 1
    reads = [q for q in queries if 'FROM "consent_consentchange"' in q["sql"]]
    assert len(reads) == 3  # records 1-2, 3-4, 5
