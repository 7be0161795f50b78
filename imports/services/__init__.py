"""Consent imports: store a file, run it in chunks through the consent service, report refusals.

Every consent change goes through the consent service (consent_changes_apply, one call per chunk,
one group per row) with source "import" and the file and row as evidence (rule 1 of DESIGN.md). A
chunk's changes, its refused rows and the run's progress commit together, so a rerun after a crash
continues after the last committed chunk and never applies a row twice; all-or-nothing runs are
one transaction.

The modules, in the order a row travels:
- scheduling: starting runs (upload, resume, stalled runs, the nightly refresh of a source);
- rows: reading one row of the export (values, dates, levels, the identifier);
- chunks: applying a chunk of rows through the consent service, withdrawing rows gone from the export;
- runs: running a job in committed chunks, all or nothing, failing and finishing it.
"""

from imports.services.rows import Row, RowRefused, parse_date, parse_level, parse_value
from imports.services.runs import import_run_process
from imports.services.scheduling import (
    import_run_resume,
    import_run_start,
    import_runs_resume_stalled,
    import_sources_refresh,
)

__all__ = [
    "Row",
    "RowRefused",
    "import_run_process",
    "import_run_resume",
    "import_run_start",
    "import_runs_resume_stalled",
    "import_sources_refresh",
    "parse_date",
    "parse_level",
    "parse_value",
]
