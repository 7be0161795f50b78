"""The person's last real action (Contact.last_action_at): what starts retention clocks that run
from the last contact that came from the person (GDPR Art. 5(1)(e); the CNIL counts three years
from it and does not count an email open).

The services that record such an action (a consent given or confirmed, a form, a click, an
imported purchase, a request) call last_actions_record, set-based: one UPDATE per batch, never a
save per row, and a date only ever moves forward.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db.models import Case, DateTimeField, Q, Value, When
from django.db.models.sql import UpdateQuery

from contacts.models import Contact
from core.bulk import write_rows

_BATCH = 500  # WHEN branches per UPDATE, well inside every backend's parameter limit


def last_actions_record(*, moments: Mapping[int, datetime], queued: bool = False) -> int | None:
    """Move each contact's last action forward to the given moment ({contact id: when}); an older
    moment than the one stored changes nothing. Returns how many contacts changed; with `queued`,
    None: the UPDATEs go through core.bulk.write_rows, so inside one_round_trip() they travel with
    the caller's next statement instead of a round trip each (the consent service)."""
    if queued:
        for rows, value in _updates(moments):
            update = rows.query.chain(UpdateQuery)
            update.add_update_values({"last_action_at": value})
            compiler = update.get_compiler(rows.db)
            compiler.pre_sql_setup()
            write_rows(*compiler.as_sql())
        return None
    return sum(rows.update(last_action_at=value) for rows, value in _updates(moments))


def _updates(moments: Mapping[int, datetime]):
    """(contacts, new value) per UPDATE that moves these contacts' last actions forward."""
    items = sorted((pk, at) for pk, at in moments.items() if pk is not None and at is not None)
    for start in range(0, len(items), _BATCH):
        batch = items[start : start + _BATCH]
        by_moment: dict[datetime, list[int]] = {}
        for pk, at in batch:
            by_moment.setdefault(at, []).append(pk)
        if len(by_moment) == 1:  # one moment for all (a bulk consent, a click): no CASE needed
            ((at, ids),) = by_moment.items()
            yield _older(Contact.objects.filter(pk__in=ids), at), at
            continue
        value = Case(
            *(When(pk__in=ids, then=Value(at)) for at, ids in by_moment.items()),
            output_field=DateTimeField(),
        )
        rows = Contact.objects.filter(pk__in=[pk for pk, _at in batch])
        older = Q()
        for at, ids in by_moment.items():
            older |= Q(pk__in=ids) & (Q(last_action_at__isnull=True) | Q(last_action_at__lt=at))
        yield rows.filter(older), value


def _older(queryset, at: datetime):
    return queryset.filter(Q(last_action_at__isnull=True) | Q(last_action_at__lt=at))
