"""Whether the downstream systems acted on a request (GDPR Art. 17(2), 19): an erasure, a
restriction or a rectification is complete only when every system acknowledged it, or an officer
waived one with a reason."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from dsr.models import DataSubjectRequest, DownstreamWaiver
from webhooks.models import Endpoint, EventType
from webhooks.outbox import subject_of
from webhooks.selectors import acknowledgements

Kind = DataSubjectRequest.Kind
# What each kind of request tells downstream systems, and so waits for.
EVENTS = {
    Kind.ERASE: [EventType.ERASED],
    Kind.RESTRICT: [EventType.RESTRICTED],
    Kind.RECTIFY: [EventType.RECTIFIED],
}


def request_subjects(request: DataSubjectRequest) -> list[str]:
    """The people of the request as events name them; erased people through their erasure's receipt."""
    people = [subject_of(pk) for pk in request.contacts.values_list("pk", flat=True)]
    erased = [s for record in request.erasures.all() for s in record.receipt.get("downstream_subjects", [])]
    return [*people, *erased]


def downstream_waiting(request: DataSubjectRequest) -> list[str]:
    """The names of active systems that have not acknowledged the request's events and were not waived."""
    types = EVENTS.get(request.kind)
    if not types:
        return []
    waived = set(request.downstream_waivers.values_list("endpoint_id", flat=True))
    active = set(Endpoint.objects.filter(active=True).values_list("pk", flat=True))
    return [
        row.endpoint
        for row in acknowledgements(subjects=request_subjects(request), types=types)
        if row.waiting and row.endpoint_id in active and row.endpoint_id not in waived
    ]


def downstream_check(request: DataSubjectRequest) -> None:
    """Refuse to complete while a system has not acknowledged (ValidationError names them)."""
    waiting = downstream_waiting(request)
    if waiting:
        raise ValidationError(
            _(
                "Waiting for %(systems)s to acknowledge. Complete once they have, or waive a system "
                "with a reason."
            )
            % {"systems": ", ".join(waiting)}
        )


@transaction.atomic
def downstream_waive(
    *, request: DataSubjectRequest, endpoint: Endpoint, reason: str, actor
) -> DownstreamWaiver:
    """Record that this request closes without this system's acknowledgement, and why."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why this system's acknowledgement is not needed.")})
    if not request.is_open:
        raise ValidationError(_("The request is closed."))
    waiver, _created = DownstreamWaiver.objects.get_or_create(
        request=request, endpoint=endpoint, defaults={"reason": reason.strip(), "decided_by": actor}
    )
    return waiver
