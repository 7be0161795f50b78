from celery import shared_task

from core.connection_loss import RETRY_ON_CONNECTION_LOSS
from journeys.forwarding import forwards_purge
from journeys.repermission import repermission_run
from journeys.services import (
    enrolments_advance,
    interactions_purge,
    journeys_dispatch,
    lead_scores_compute_all,
    segment_export_build,
    segment_exports_purge,
)


@shared_task(name="journeys.run_journeys", **RETRY_ON_CONNECTION_LOSS)
def run_journeys() -> dict:
    """Every few minutes: enrol new audiences, then queue the due enrolments in batches, one
    advance_enrolments task each, so every worker on the broker takes a share of the run."""
    batches = journeys_dispatch()
    for ids in batches:
        advance_enrolments.delay(ids)
    return {"batches": len(batches), "enrolments": sum(map(len, batches))}


@shared_task(name="journeys.advance_enrolments", **RETRY_ON_CONNECTION_LOSS)
def advance_enrolments(ids: list[int]) -> dict:
    """One batch of a journey run. A redelivery (its worker died: acks_late), a retry after a lost
    database connection or the next run's batch with the same enrolments sends no step twice
    (journeys.services.enrolment_advance)."""
    return enrolments_advance(ids=ids)


@shared_task(name="journeys.score_leads")
def score_leads() -> dict:
    """Nightly: recompute every lead scoring model; scores of who no longer qualifies go."""
    return lead_scores_compute_all()


@shared_task(name="journeys.build_segment_export")
def build_segment_export(export_id: int) -> int:
    """Write one segment export's file; a redelivered task rewrites the same file."""
    return segment_export_build(export_id=export_id).written


@shared_task(name="journeys.purge_retention")
def purge_retention() -> dict:
    """Daily: forget forwards older than 30 days, and interactions and segment export files past
    their retention periods. Idempotent."""
    return {
        "forwards": forwards_purge(),
        "interactions": interactions_purge(),
        "segment_exports": segment_exports_purge(),
    }


@shared_task(name="journeys.repermission")
def repermission() -> dict:
    """Daily: contacts due for re-permission again get a new cycle, children's guardians are asked
    (journeys.repermission). Idempotent."""
    return repermission_run()
