"""The consent change chain finds what was changed behind the application's back."""

import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from consent.audit_chain import verify
from consent.models import ConsentChange, Source
from consent.services import consent_change, contacts_create_with_consent
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(logging_on, privacy_officer):
    """Five records: three by hand for one contact, two from a bulk import."""
    contact = ContactFactory()
    for level in (1, 3, 2):
        consent_change(
            contact=contact,
            level=level,
            source=Source.ADMIN,
            actor=privacy_officer,
            justification=f"call {level}",
        )
    contacts_create_with_consent(
        rows=[{"email": "a@example.org", "consent_given": 2}] * 2, source=Source.IMPORT
    )
    return list(ConsentChange.objects.order_by("id"))


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_untouched_chain_verifies(chain, capsys):
    result = verify()
    assert result.ok and result.checked == 5
    call_command("verify_audit_trail")
    assert "intact: 5 records" in capsys.readouterr().out


def test_each_record_links_to_the_one_before(chain):
    assert all(later.prev_hash == earlier.chain_hash for earlier, later in itertools.pairwise(chain))


def test_a_value_edited_by_sql_is_reported_with_its_record(chain):
    sql("UPDATE consent_consentchange SET new_value = '5' WHERE id = %s", [chain[2].id])
    result = verify()
    assert not result.ok and result.first_bad_id == chain[2].id
    with pytest.raises(CommandError, match=f"record #{chain[2].id}"):
        call_command("verify_audit_trail")


def test_a_rewritten_justification_is_reported(chain):
    sql("UPDATE consent_consentchange SET justification = 'nothing happened' WHERE id = %s", [chain[1].id])
    assert verify().first_bad_id == chain[1].id


def test_a_removed_record_is_reported_at_the_next_one(chain):
    sql("DELETE FROM consent_consentchange WHERE id = %s", [chain[1].id])
    result = verify()
    assert result.first_bad_id == chain[2].id and "removed or inserted" in result.problem


def test_records_removed_from_the_end_are_reported(chain):
    sql("DELETE FROM consent_consentchange WHERE id = %s", [chain[-1].id])
    result = verify()
    assert not result.ok and "end of the chain" in result.problem


def test_a_record_inserted_by_sql_is_reported(chain):
    sql(
        "INSERT INTO consent_consentchange (contact_id, field, old_value, new_value, source, channel, justification,"
        " evidence, effective_at, recorded_at, prev_hash, chain_hash, personal_digest, pseudonymised)"
        " VALUES (%s, 'consent_given', '2', '5', 'admin', '', 'forged', '{}', %s, %s, %s, %s, '', %s)",
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


def test_a_pseudonymised_record_still_verifies_but_cannot_be_rewritten(chain):
    sql(
        "UPDATE consent_consentchange SET justification = '', channel = '', evidence = '{}', pseudonymised = %s"
        " WHERE id = %s",
        [True, chain[0].id],
    )
    assert verify().ok
    sql("UPDATE consent_consentchange SET justification = 'invented' WHERE id = %s", [chain[0].id])
    assert verify().first_bad_id == chain[0].id
