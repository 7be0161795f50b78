"""Migration 0014 re-seals the records that the old scheme still verifies, and only those."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from consent.audit_chain import verify
from tests.factories import ContactFactory

BEFORE = ("consent", "0014_audit_checkpoints_and_subject_tag")
v1 = importlib.import_module("consent.migrations.0015_reseal_audit_chain")


@pytest.mark.django_db(transaction=True)
def test_the_migration_reseals_what_the_old_scheme_verifies_and_leaves_the_rest_reported():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    apps = executor.loader.project_state([BEFORE]).apps
    Change = apps.get_model("consent", "ConsentChange")
    contact = ContactFactory()
    prev, made = v1.GENESIS, []

    def seal_v1(evidence, *, stored_evidence=None, **values):
        nonlocal prev
        now = timezone.now()
        record = Change(
            contact_id=contact.pk,
            field="consent_given",
            old_value="0",
            new_value="1",
            source="admin",
            justification="phone call",
            evidence=evidence,
            effective_at=now,
            recorded_at=now,
            prev_hash=prev,
        )
        record.personal_digest = v1._v1_digest(record, evidence)
        record.chain_hash = prev = v1._v1_link(record, record.personal_digest)
        record.evidence = evidence if stored_evidence is None else stored_evidence
        for name, value in values.items():
            setattr(record, name, value)
        record.save()
        made.append(record)

    seal_v1({"form": "v7"})
    # What PostgreSQL gave back for 1e16: the old scheme's false alarm, recognised and re-sealed.
    seal_v1({"form_version": 1e16}, stored_evidence={"form_version": 10**16})
    # An erasure under the old scheme: the contact and the personal fields already blank.
    seal_v1({"ip": "203.0.113.9"}, stored_evidence={}, justification="", contact_id=None, pseudonymised=True)
    seal_v1({"form": "v8"}, new_value="5")  # edited after sealing: the old scheme reports it
    seal_v1({"form": "v9"})
    apps.get_model("consent", "AuditChainHead").objects.create(pk=1, length=5, last_hash=prev)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    result = verify()
    assert result.checked == 5
    assert {pk for pk, _problem in result.bad} == {made[3].pk}, result.summary()  # and only it
