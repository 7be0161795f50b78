"""What an officer can do next on a request, and what each step waits for (issue 20).

The request's page shows these steps in this order, with the ones that cannot be taken yet
disabled and saying why ("Build the export bundle — waits for identity verification"). The
conditions mirror the refusals of dsr.services and dsr.bundles, which stay the authority: a step
shown as ready may still be refused when the request changed meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from core.models import ComplianceSettings
from dsr.downstream import downstream_waiting
from dsr.models import DataSubjectRequest, ExportBundle

Kind, Status = DataSubjectRequest.Kind, DataSubjectRequest.Status


@dataclass(frozen=True)
class Step:
    action: str  # the control the page shows for it
    label: str
    waits_for: tuple[str, ...] = ()  # empty: it can be taken now
    destructive: bool = False  # erases or closes for good: red, and confirmed on a page of its own
    offered: bool = False  # the request's work is done: this step is what is left
    note: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def ready(self) -> bool:
        return not self.waits_for

    @property
    def waits_for_text(self) -> str:
        return " and ".join(self.waits_for)


def request_next_steps(request: DataSubjectRequest, *, waiting: list[str] | None = None) -> list[Step]:
    """The steps an officer may take on an open request, in the order work usually goes."""
    if not request.is_open:
        return []
    waiting = downstream_waiting(request) if waiting is None else waiting
    identity = () if request.verified_at else ("identity verification",)
    linked = request.contacts.exists()
    contacts = () if linked else ("a linked contact (Discover data)",)
    steps = []
    if not request.verified_at:
        steps.append(Step("verify", "Record how the requester's identity was verified"))
    if request.status in (Status.NEW, Status.VERIFIED):
        steps.append(Step("start", "Start work (assigns the request to you if nobody has it)", identity))
    if not linked:
        steps.append(Step("discover", "Find the requester's records and link them to the request"))
    fulfilment, fulfilled = _fulfilment(request, identity, contacts)
    steps += fulfilment
    if waiting:
        steps.append(
            Step(
                "waive",
                "Waive this system's acknowledgement (with a reason, shown in the report)",
                extra={"systems": waiting},
            )
        )
    complete_waits = identity + tuple(f"an acknowledgement from {name}" for name in waiting)
    steps.append(
        Step(
            "complete",
            "Complete the request",
            complete_waits,
            offered=fulfilled and not complete_waits,
            note="" if fulfilled else _unfulfilled_note(request),
        )
    )
    clock = request.clock  # the law's extension, if any, announced before the answer is due
    if (
        clock.extension_latest
        and request.status != Status.EXTENDED
        and timezone.now() <= clock.extension_announce_by
    ):
        latest = timezone.localdate(clock.extension_latest)
        steps.append(
            Step("extend", f"Extend the deadline (to {latest} at the latest; the requester is told why)")
        )
    steps.append(Step("decline", "Decline the request (with a reason, Art. 12(4))", destructive=True))
    return steps


def request_fulfilled(request: DataSubjectRequest) -> bool:
    """Whether the step that answers the request is done, so completing it is what is left."""
    return _fulfilment(request, (), ())[1]


def _fulfilment(request, identity: tuple, contacts: tuple) -> tuple[list[Step], bool]:
    """The step that answers this type of request, and whether it has been taken."""
    match request.kind:
        case Kind.ACCESS | Kind.EXPORT:
            return _bundle_steps(request, identity, contacts)
        case Kind.ERASE:
            if request.erasures.exists():
                return [], True
            return [
                Step("erase", "Erase the requester's data (preview first)", identity + contacts, True)
            ], False
        case Kind.RESTRICT:
            label = "Restrict processing of the linked contacts and complete"
            return [Step("restrict", label, identity + contacts)], False
        case _:  # rectification: the officer corrects the contacts on their pages, then completes
            return [
                Step("rectify", "Correct the data on the linked contacts' pages", identity + contacts)
            ], False  # nothing records the correction: completing stays a step of its own


def _bundle_steps(request, identity, contacts) -> tuple[list[Step], bool]:
    latest = request.bundles.order_by("-created_at").first()
    build = Step("bundle", "Build the export bundle", identity + contacts)
    if latest is None or latest.status == ExportBundle.Status.FAILED:
        return [build], False
    if latest.status in (ExportBundle.Status.QUEUED, ExportBundle.Status.BUILDING):
        progress = f"{latest.progress}/{latest.total}" if latest.total else "queued"
        return [
            Step(
                "review",
                "Review the export bundle",
                (f"its build to finish ({progress})",),
                extra={"bundle": latest},
            )
        ], False
    if latest.status == ExportBundle.Status.REVIEW:
        waits = ()
        if ComplianceSettings.load().export_needs_second_officer and latest.approved_by_id is None:
            waits = ("a second privacy officer's confirmation",)
        return [
            Step("review", "Review and release the export bundle", waits, extra={"bundle": latest})
        ], False
    return [], True  # released


def _unfulfilled_note(request) -> str:
    if request.kind in (Kind.ACCESS, Kind.EXPORT):
        return "Before the export is released only when no data is held (say so in the notes)."
    if request.kind == Kind.ERASE:
        return "Before the erasure only when no data is held (say so in the notes)."
    return ""
