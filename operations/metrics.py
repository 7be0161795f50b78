"""Prometheus metrics (issue 23): how fast requests and jobs run and how many fail, measured in
the processes, and the privacy figures an operator alerts on, read from the database at scrape
time. Labels are view names, task names, states and queue names: never personal data.

Several processes (gunicorn workers, the Celery worker) share their measurements through files
when PROMETHEUS_MULTIPROC_DIR names a folder (prometheus_client's multiprocess mode); without
it each process reports its own, which suits `make run` and a single gunicorn worker.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

REQUEST_SECONDS = Histogram(
    "consent_office_request_duration_seconds",
    "Time to answer a request, by view name, method and status code.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASK_SECONDS = Histogram(
    "consent_office_task_duration_seconds",
    "Time a background job ran, by task name and final state.",
    ["task", "state"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
TASK_FAILURES = Counter(
    "consent_office_task_failures", "Background jobs that ended in an error, by task name.", ["task"]
)


class PrivacyFigures:
    """Read at each scrape: request deadlines, double opt-in outcomes, job states, queue length."""

    def collect(self):
        from dsr.dashboard import queue_now
        from reports.dashboard import double_opt_in

        requests = GaugeMetricFamily(
            "consent_office_data_subject_requests",
            "Open data subject requests, those due within 7 days and those overdue.",
            labels=["state"],
        )
        for state, count in queue_now().items():
            requests.add_metric([state], count)
        yield requests

        doi = GaugeMetricFamily(
            "consent_office_double_opt_in_requests",
            "Double opt-in confirmation requests by outcome.",
            labels=["outcome"],
        )
        figures = double_opt_in()
        for outcome in ("confirmed", "expired", "pending"):
            doi.add_metric([outcome], figures[outcome])
        yield doi

        jobs = GaugeMetricFamily(
            "consent_office_jobs", "Long jobs by kind and status.", labels=["kind", "status"]
        )
        for kind, count_by_status in _jobs().items():
            for status, count in count_by_status.items():
                jobs.add_metric([kind, status], count)
        yield jobs

        yield from _audit_trail()

        queue = GaugeMetricFamily(
            "consent_office_queue_messages", "Messages waiting in the broker's queue.", labels=["queue"]
        )
        for name, count in _queue_lengths().items():
            queue.add_metric([name], count)
        yield queue


def _audit_trail():
    """When the audit trail was last verified clean, and whether the latest verification was."""
    from consent.models import AuditVerification

    latest = AuditVerification.objects.order_by("-at", "-id").values_list("ok", flat=True).first()
    clean = AuditVerification.objects.filter(ok=True).order_by("-at").values_list("at", flat=True).first()
    if latest is not None:
        yield GaugeMetricFamily(
            "consent_office_audit_trail_last_verification_ok",
            "1 when the latest verification of the consent audit trail found it intact, else 0.",
            value=int(latest),
        )
    if clean is not None:
        yield GaugeMetricFamily(
            "consent_office_audit_trail_last_verified_clean_timestamp_seconds",
            "When the consent audit trail was last verified intact (alert on time() minus this).",
            value=clean.timestamp(),
        )


def _jobs() -> dict[str, dict[str, int]]:
    from django.db.models import Count

    from dsr.models import ExportBundle
    from imports.models import ImportRun
    from journeys.models import SegmentExport

    kinds = {"import": ImportRun, "export_bundle": ExportBundle, "segment_export": SegmentExport}
    out = {}
    for kind, model in kinds.items():
        counts = dict(model.objects.values_list("status").annotate(n=Count("id")).order_by())
        out[kind] = {status: counts.get(status, 0) for status in model.Status.values}
    return out


def _queue_lengths() -> dict[str, int]:
    """Length of each queue the workers consume; absent when the broker does not answer (the
    readiness check says why)."""
    from celery import current_app as app  # the project's app (config/celery.py), without importing it

    names = {q.name for q in app.conf.task_queues or []} or {app.conf.task_default_queue}
    lengths = {}
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
            for name in sorted(names):
                channel = conn.channel()  # AMQP closes a channel that asked for a missing queue
                try:
                    lengths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except conn.channel_errors:
                    lengths[name] = 0  # not declared yet (Redis: no list until a job waits)
                finally:
                    channel.close()
    except Exception:  # kombu raises per transport: no figure rather than a failed scrape
        return {}
    return lengths


def exposition() -> bytes:
    """The text a scrape receives: the processes' measurements, then the figures read now."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        measured = CollectorRegistry()
        MultiProcessCollector(measured)
    else:
        measured = REGISTRY
    figures = CollectorRegistry(auto_describe=False)  # one per scrape: nothing shared between threads
    figures.register(PrivacyFigures())
    return generate_latest(measured) + generate_latest(figures)
