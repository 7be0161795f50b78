"""Segments: who a rule set describes. Who of them may be processed is decided by
consent.selectors.eligible_contacts only (rule 2 of DESIGN.md), through journeys.selectors."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.db_router import replica_reads
from journeys.models import Segment
from journeys.selectors import segment_members


def segment_create(*, name: str, rules: dict, description: str = "", actor=None) -> Segment:
    """A segment; its rules are validated (journeys.rules) before anything is saved."""
    segment = Segment(name=name, rules=rules, description=description)
    segment.full_clean()
    segment._history_user = actor
    with transaction.atomic():
        segment.save()
    return segment


def segment_update(*, segment: Segment, actor=None, **fields) -> Segment:
    unknown = fields.keys() - {"name", "rules", "description"}
    if unknown:
        raise ValidationError(_("Unknown segment fields: %s") % ", ".join(sorted(unknown)))
    for name, value in fields.items():
        setattr(segment, name, value)
    segment.full_clean()
    segment._history_user = actor
    with transaction.atomic():
        segment.save()
    return segment


def segment_member_count(*, segment: Segment, cap: int | None = None) -> int:
    """Eligible members (level 0: everyone not restricted), counted up to `cap` + 1 at most."""
    cap = settings.ADMIN_LIST_COUNT_CAP if cap is None else cap
    with replica_reads():  # a count to look at, never the list a job processes
        return segment_members(segment=segment).order_by()[: cap + 1].count()
