"""Re-seal the consent change chain under scheme 2 (every column, canonical JSON; see
consent.audit_chain), after checking each record against scheme 1 first.

Only records that scheme 1 still verifies are re-sealed: a record that was edited, or a break in
the links, stays as it is and scheme 2 reports it too, so nothing found before is laundered.
One known false alarm of scheme 1 is recognised: a float such as 1e16 in the evidence that
PostgreSQL's jsonb gave back as the integer 10000000000000000 (issue 16).
"""

import hashlib
import hmac
import json

from django.conf import settings
from django.db import migrations

GENESIS = "0" * 64


def _v1_canonical(data) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def _v1_digest(record, evidence) -> str:
    facts = {
        "contact": record.contact_id,
        "actor": record.actor_id,
        "channel": record.channel,
        "justification": record.justification,
        "evidence": evidence,
    }
    return hashlib.sha256(_v1_canonical(facts)).hexdigest()


def _v1_link(record, digest) -> str:
    facts = {
        "prev": record.prev_hash,
        "field": record.field,
        "purpose": record.purpose_id,
        "old": record.old_value,
        "new": record.new_value,
        "source": record.source,
        "effective_at": record.effective_at.isoformat(),
        "recorded_at": record.recorded_at.isoformat(),
        "personal": digest,
    }
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), _v1_canonical(facts), hashlib.sha256).hexdigest()


def _floated(value):
    """The evidence as it was before jsonb turned a large float (1e+16) into an integer."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) >= 10**16 and float(value) == value:
        return float(value)
    if isinstance(value, list):
        return [_floated(v) for v in value]
    if isinstance(value, dict):
        return {k: _floated(v) for k, v in value.items()}
    return value


def _v1_ok(record) -> bool:
    if record.pseudonymised:
        if record.justification or record.evidence or record.channel:
            return False
        return _v1_link(record, record.personal_digest) == record.chain_hash
    for evidence in (record.evidence, _floated(record.evidence)):
        digest = _v1_digest(record, evidence)
        if digest == record.personal_digest and _v1_link(record, digest) == record.chain_hash:
            return True
    return False


def reseal(apps, schema_editor):
    from core.bulk import bulk_set
    from consent.audit_chain import _mac, link_hash, personal_digest, subject_hash

    Change = apps.get_model("consent", "ConsentChange")
    Head = apps.get_model("consent", "AuditChainHead")
    head = Head.objects.filter(pk=1).first()
    old_prev, new_prev, new_head = GENESIS, GENESIS, None
    batch = []
    for record in Change.objects.order_by("id").iterator(chunk_size=5000):
        old_hash = record.chain_hash
        linked = record.prev_hash == old_prev
        if _v1_ok(record):
            if linked:
                record.prev_hash = new_prev  # else the break stays visible under scheme 2
            if record.pseudonymised:
                # The contact is gone: its scheme-1 digest (which covered it) stands in for it.
                record.subject_tag = _mac(f"legacy-subject:{record.personal_digest}")
                record.personal_digest = _mac(f"legacy-personal:{record.personal_digest}")
                subject = record.subject_tag
            else:
                record.subject_tag = ""
                record.personal_digest = personal_digest(record)
                subject = subject_hash(record.contact_id)
            record.chain_hash = link_hash(record, record.prev_hash, subject, record.personal_digest)
            batch.append(record)
        if head is not None and head.last_hash == old_hash:
            new_head = record.chain_hash
        old_prev, new_prev = old_hash, record.chain_hash
        if len(batch) >= 5000:
            bulk_set(Change, batch, ["personal_digest", "subject_tag", "prev_hash", "chain_hash"])
            batch = []
    bulk_set(Change, batch, ["personal_digest", "subject_tag", "prev_hash", "chain_hash"])
    if head is not None and new_head is not None:
        Head.objects.filter(pk=1).update(last_hash=new_head)


class Migration(migrations.Migration):
    dependencies = [("consent", "0014_audit_checkpoints_and_subject_tag")]

    operations = [migrations.RunPython(reseal, migrations.RunPython.noop, elidable=False)]
