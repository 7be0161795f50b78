"""A verification reads again only the stretches of the chain that changed since they last verified
clean, and a seal cannot be made to vouch for rows it was not computed from (issue 24: the daily
verification took 18 minutes at 2.7 million records). Every attack of test_audit_chain.py also runs
against a sealed chain there."""

import pytest
from django.core.management import call_command
from django.db import connection

from consent import audit_seals
from consent.audit_chain import verify
from consent.models import AuditStretchSeal, ConsentChange, Source
from consent.services import consent_change, contacts_create_with_consent
from dsr.erasure import contacts_erase
from tests.tamper import tamper

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="stretch seals are kept on PostgreSQL only; SQLite is walked whole",
    ),
]


@pytest.fixture
def sealed(logging_on, monkeypatch):
    """Twenty records in stretches of four ids, every stretch sealed by a first verification."""
    monkeypatch.setattr(audit_seals, "AUDIT_STRETCH_IDS", 4)
    contacts_create_with_consent(
        rows=[{"email": f"p{n}@example.org", "consent_given": 2} for n in range(20)], source=Source.IMPORT
    )
    first = verify()
    assert first.ok and first.walked == 20
    return list(ConsentChange.objects.order_by("id"))


def _stretch(record) -> int:
    return record.id // audit_seals.AUDIT_STRETCH_IDS


def _in_stretch(records, record) -> int:
    return sum(1 for r in records if _stretch(r) == _stretch(record))


def test_an_unchanged_chain_is_not_read_again(sealed):
    again = verify()
    assert again.ok and again.checked == 20 and again.walked == 0
    assert "20 records (20 unchanged since they last verified)" in again.summary()


def test_new_records_are_walked_and_only_their_stretch(sealed):
    contact = ConsentChange.objects.get(pk=sealed[0].pk).contact
    consent_change(contact=contact, level=4, source=Source.IMPORT)
    new = ConsentChange.objects.latest("id")
    result = verify()
    assert result.ok and result.checked == 21
    assert result.walked == _in_stretch([*sealed, new], new)


def test_an_erasure_is_walked_where_it_changed_records_and_verifies(sealed, privacy_officer):
    person = ConsentChange.objects.get(pk=sealed[9].pk).contact
    contacts_erase(contacts=[person], actor=privacy_officer, scan=False)
    result = verify()
    assert result.ok and result.walked == _in_stretch(sealed, sealed[9])
    assert verify().walked == 0  # sealed again as erased


@pytest.mark.parametrize(
    "attack",
    [
        "UPDATE consent_consentchange SET new_value = '5' WHERE id = %(id)s",
        "DELETE FROM consent_consentchange WHERE id = %(id)s",
        "UPDATE consent_consentchange SET effective_at = effective_at - interval '1 day' WHERE id = %(id)s",
    ],
    ids=["edited", "removed", "backdated"],
)
def test_an_edit_behind_the_applications_back_is_found_although_its_stretch_was_sealed(sealed, attack):
    target = sealed[10]
    tamper(attack, {"id": target.id})
    result = verify()
    assert not result.ok
    assert result.bad[0][0] in (target.id, sealed[11].id)  # the record, or the one after a removal


def test_removing_a_whole_stretch_breaks_the_link_into_the_next(sealed):
    stretch = _stretch(sealed[8])
    tamper(
        "DELETE FROM consent_consentchange WHERE id >= %s AND id < %s",
        [stretch * audit_seals.AUDIT_STRETCH_IDS, (stretch + 1) * audit_seals.AUDIT_STRETCH_IDS],
    )
    result = verify()
    assert not result.ok and "removed or inserted" in result.problem


def test_a_seal_rewritten_for_the_edited_rows_is_not_believed(sealed):
    """The attacker can compute PostgreSQL's digest too: without the key the seal's signature fails."""
    target = sealed[5]
    tamper("UPDATE consent_consentchange SET new_value = '5' WHERE id = %s", [target.id])
    stretch = _stretch(target)
    size = audit_seals.AUDIT_STRETCH_IDS
    with connection.cursor() as cursor:
        cursor.execute(
            audit_seals._DIGESTS, {"size": size, "low": stretch * size, "high": (stretch + 1) * size}
        )
        _s, _n, digest = cursor.fetchone()
    AuditStretchSeal.objects.filter(stretch=stretch).update(digest=digest)
    result = verify()
    assert not result.ok and result.first_bad_id == target.id


def test_deleted_seals_only_make_the_walk_whole(sealed):
    AuditStretchSeal.objects.all().delete()
    result = verify()
    assert result.ok and result.walked == 20


def test_a_whole_verification_reads_every_record(sealed, capsys):
    assert verify(whole=True).walked == 20
    call_command("verify_audit_trail", "--whole")
    out = capsys.readouterr().out
    assert "intact: 20 records," in out and "unchanged" not in out
    call_command("verify_audit_trail")
    assert "20 records (20 unchanged since they last verified)" in capsys.readouterr().out
