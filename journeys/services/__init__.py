"""Segments, journeys and lead scoring: every write that carries a rule, by sub-domain.

Who may be processed is decided by consent.selectors.eligible_contacts only (rule 2 of DESIGN.md),
through journeys.selectors. Callers import from here (`from journeys.services import x`).
"""

from journeys.services.advance import (
    RETRY_DELAY,
    AdvanceOutcome,
    claim_timeout,
    enrolment_advance,
)
from journeys.services.authoring import (
    JOURNEY_FIELDS,
    journey_create,
    journey_go_live,
    journey_pause,
    journey_resume,
    journey_step_add,
    journey_stop,
    journey_update,
)
from journeys.services.enrolment import (
    MAX_PASSES,
    enrolments_advance,
    journey_enrol,
    journeys_complete,
    journeys_dispatch,
    journeys_run,
)
from journeys.services.retention import interactions_purge, segment_exports_purge
from journeys.services.scoring import interaction_record, lead_scores_compute, lead_scores_compute_all
from journeys.services.segment_exports import (
    ERASED_FROM_FILE,
    ERASED_WHILE_RUNNING,
    EXPORT_HEADER,
    segment_export_build,
    segment_export_file,
    segment_export_files_delete,
    segment_export_path,
    segment_export_start,
    segment_exports_naming,
    segment_exports_withdraw,
)
from journeys.services.segments import segment_create, segment_member_count, segment_update

__all__ = [
    "ERASED_FROM_FILE",
    "ERASED_WHILE_RUNNING",
    "EXPORT_HEADER",
    "JOURNEY_FIELDS",
    "MAX_PASSES",
    "RETRY_DELAY",
    "AdvanceOutcome",
    "claim_timeout",
    "enrolment_advance",
    "enrolments_advance",
    "interaction_record",
    "interactions_purge",
    "journey_create",
    "journey_enrol",
    "journey_go_live",
    "journey_pause",
    "journey_resume",
    "journey_step_add",
    "journey_stop",
    "journey_update",
    "journeys_complete",
    "journeys_dispatch",
    "journeys_run",
    "lead_scores_compute",
    "lead_scores_compute_all",
    "segment_create",
    "segment_export_build",
    "segment_export_file",
    "segment_export_files_delete",
    "segment_export_path",
    "segment_export_start",
    "segment_exports_naming",
    "segment_exports_purge",
    "segment_exports_withdraw",
    "segment_member_count",
    "segment_update",
]
