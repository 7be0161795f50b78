"""Each measurement times the product's way and a baseline (the best this database or library
could do) side by side in the same run. Nothing here is asserted: the figures are reported.

One module per kind of work measured: reads (queries), the audit export (exports), writes
(consent changes, enrolment, import), erasure, the nightly retention job, the subscription center under
gunicorn, the webhook outbox and its deliveries, and reads on a read replica beside the primary (when
one is set).
"""

from bench.measurements.center import subscription_center
from bench.measurements.common import Result, timed
from bench.measurements.erasure import erasure
from bench.measurements.exports import audit_export
from bench.measurements.queries import access_log, changelist, eligibility
from bench.measurements.replica import replica_reads_beside_primary
from bench.measurements.retention import retention_lapse
from bench.measurements.webhooks import webhook_delivery
from bench.measurements.writes import consent_changes, consent_import, enrolment

__all__ = [
    "Result",
    "access_log",
    "audit_export",
    "changelist",
    "consent_changes",
    "consent_import",
    "eligibility",
    "enrolment",
    "erasure",
    "replica_reads_beside_primary",
    "retention_lapse",
    "subscription_center",
    "timed",
    "webhook_delivery",
]
