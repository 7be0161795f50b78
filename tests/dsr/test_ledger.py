"""The erasure ledger outside the database: every erasure sealed into it, and a database restored
from before an erasure is made to forget again before workers may run."""

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
from django.db import connection

from consent.models import Source
from consent.services import consent_change
from contacts.models import Contact
from contacts.suppression import is_suppressed, suppression_pairs
from dsr.erasure import contacts_erase, erasures_reapply
from dsr.ledger import LedgerBroken, ledger_append, ledger_entries, ledger_gap
from dsr.models import ErasureRecord
from operations.health import run_checks
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

PERSON = {
    "first_name": "Ottilie",
    "last_name": "Brandt",
    "email": "ottilie@example.org",
    "phone": "+4930901999",
}


def test_each_erasure_writes_a_sealed_line_holding_no_personal_data(privacy_officer, erasure_ledger):
    person = ContactFactory(**PERSON)
    record = contacts_erase(contacts=[person], actor=privacy_officer)
    (entry,) = ledger_entries()
    assert str(record.ledger_entry) == entry["id"] and entry["contacts"] == [person.pk]
    assert {kind for kind, _ in entry["digests"]} == {"email", "phone"}
    text = (erasure_ledger / "erasures.jsonl").read_text()
    assert not any(value in text for value in (PERSON["email"], "Ottilie", "Brandt", "901999"))
    assert not ledger_gap()


def test_a_line_edited_removed_or_forged_breaks_the_ledger(privacy_officer, erasure_ledger):
    for n in range(3):
        contacts_erase(contacts=[ContactFactory(email=f"p{n}@example.org")], actor=privacy_officer)
    path = erasure_ledger / "erasures.jsonl"
    lines = path.read_text().splitlines()
    assert len(ledger_entries()) == 3
    edited = json.loads(lines[0])
    edited["contacts"] = [424242]
    for tampered in ([json.dumps(edited), *lines[1:]], lines[1:], [lines[0], lines[2]], [*lines, lines[1]]):
        path.write_text("\n".join(tampered) + "\n")
        with pytest.raises(LedgerBroken):
            ledger_entries()


def test_an_erasure_the_database_does_not_know_stops_workers_until_reapplied(privacy_officer, celery_worker):
    """The ledger is ahead of the database, as after restoring a backup taken before an erasure."""
    person = ContactFactory(**PERSON)
    consent_change(contact=person, level=3, source=Source.IMPORT)
    ledger_append(
        reference="DSR-RESTORED",
        contact_ids=[person.pk],
        digests=suppression_pairs(email=PERSON["email"], phone=PERSON["phone"]),
    )
    assert dict((r.name, r.ok) for r in run_checks(["erasures"])) == {"erasures": False}
    worker = celery_worker.start().process
    assert worker.wait(timeout=120) != 0  # it refused to start

    assert len(erasures_reapply()) == 1
    assert not Contact.objects.filter(pk=person.pk).exists()
    assert is_suppressed(email=PERSON["email"]) and is_suppressed(phone=PERSON["phone"])
    assert ErasureRecord.objects.get().contacts_erased == 1
    assert not ledger_gap() and erasures_reapply() == []  # once is enough
    assert len(ledger_entries()) == 1  # re-applying writes no second line


def test_reapplying_erases_nobody_whose_address_differs_in_another_database(privacy_officer):
    """A ledger line names contact ids; in a database that is not a copy (a fresh one, say) the same
    id belongs to someone else, who must not be erased: only the suppression comes back."""
    stranger = ContactFactory(email="someone.else@example.org")
    ledger_append(
        reference="DSR-OLD", contact_ids=[stranger.pk], digests=suppression_pairs(email=PERSON["email"])
    )
    assert len(erasures_reapply()) == 1
    assert Contact.objects.filter(pk=stranger.pk).exists() and is_suppressed(email=PERSON["email"])
    assert ErasureRecord.objects.get().contacts_erased == 0 and not ledger_gap()


def _psql(*args, database="postgres"):
    db = connection.settings_dict
    base = ["psql", "-h", db.get("HOST") or "127.0.0.1", "-U", db.get("USER") or "postgres", "-d", database]
    return subprocess.run(
        [*base, "-v", "ON_ERROR_STOP=1", "-tAc", *args], check=True, capture_output=True, text=True
    )


@pytest.mark.postgres
@pytest.mark.skipif(not shutil.which("pg_dump"), reason="needs pg_dump and pg_restore")
def test_a_restored_backup_forgets_again_everyone_erased_since(settings, erasure_ledger):
    """pg_dump, erase a person, restore the older dump: the person is back until erasures_reapply."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    db = connection.settings_dict
    name = f"restore_{uuid.uuid4().hex[:8]}"
    host, user = db.get("HOST") or "127.0.0.1", db.get("USER") or "postgres"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}@{host}:{db.get('PORT') or 5432}/{name}",
        "VAR_DIR": str(settings.VAR_DIR),
        "LEDGER_DIR": str(erasure_ledger),
    }

    def manage(*args, check=True):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            env=env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=check,
        )

    def shell(code: str) -> str:
        return manage("shell", "-c", code).stdout.strip().splitlines()[-1]

    dump = erasure_ledger.parent / "backup.dump"
    # The migrated schema copied from the test database: a fresh `migrate` took 20 s of this test.
    migrated = erasure_ledger.parent / "migrated.dump"
    subprocess.run(["pg_dump", "-h", host, "-U", user, "-Fc", "-f", str(migrated), db["NAME"]], check=True)
    _psql(f"CREATE DATABASE {name}")
    try:
        subprocess.run(["pg_restore", "-h", host, "-U", user, "-d", name, str(migrated)], check=True)
        contact_id = shell(
            "from tests.factories import ContactFactory; "
            f"print(ContactFactory(email='{PERSON['email']}', first_name='Ottilie').pk)"
        )
        subprocess.run(["pg_dump", "-h", host, "-U", user, "-Fc", "-f", str(dump), name], check=True)
        shell(
            "from contacts.models import Contact; from dsr.erasure import contacts_erase; "
            f"contacts_erase(contacts=[Contact.objects.get(pk={contact_id})], actor=None); print('erased')"
        )
        _psql(f"DROP DATABASE {name} WITH (FORCE)")
        _psql(f"CREATE DATABASE {name}")
        subprocess.run(["pg_restore", "-h", host, "-U", user, "-d", name, str(dump)], check=True)
        exists = (
            f"from contacts.models import Contact; print(Contact.objects.filter(pk={contact_id}).exists())"
        )
        assert shell(exists) == "True"  # the backup brought the person back
        assert manage("health", "erasures", check=False).returncode != 0

        out = manage("erasures_reapply").stdout
        assert "1 erasures re-applied" in out and PERSON["email"] not in out
        assert shell(exists) == "False"
        suppressed = (
            f"from contacts.suppression import is_suppressed; print(is_suppressed(email='{PERSON['email']}'))"
        )
        assert shell(suppressed) == "True"
        assert manage("health", "erasures", check=False).returncode == 0
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
