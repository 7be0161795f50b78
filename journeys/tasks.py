from celery import shared_task

from core.connection_loss import RETRY_ON_CONNECTION_LOSS
from journeys.forwarding import forwards_purge
from journeys.repermission import repermission_run
from journeys.services import (
    interactions_purge,
    journeys_run,
    lead_scores_compute_all,
    segment_export_build,
    segment_exports_purge,
)


@shared_task(name="journeys.run_journeys", **RETRY_ON_CONNECTION_LOSS)
def run_journeys() -> dict:
    """Every few minutes: enrol new audiences and advance due enrolments. A rerun, a retry after a
    lost database connection or a second worker at the same time sends no step twice
    (journeys.services.enrolment_advance)."""
    return journeys_run()


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
