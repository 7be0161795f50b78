"""A job's progress for the back office: the bar, the figures and an estimate of the time left,
as HTML for the job's page and as JSON for the small script that keeps that bar moving
(static/js/job-progress.js polls the JSON; no inline script, so the CSP holds)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.http import JsonResponse
from django.utils import timezone
from django.utils.html import format_html

# An estimate needs some history to mean anything; short jobs are over before one would help.
ESTIMATE_AFTER = dt.timedelta(seconds=10)


@dataclass(frozen=True)
class Progress:
    status: str  # the job's status code
    label: str  # its status in words
    running: bool  # queued or running: the page keeps asking
    done: int
    total: int
    percent: int
    seconds_left: int | None
    text: str  # "120 / 400 (30 %) — about 2 minutes left"


def job_progress(
    *, status: str, label: str, running: bool, done: int, total: int, started_at, now=None
) -> Progress:
    """The progress of a job from its counters; the time left is extrapolated from the rate so far."""
    now = now or timezone.now()
    total = max(total or 0, 0)
    done = min(max(done or 0, 0), total) if total else max(done or 0, 0)
    percent = (
        100
        if not running and status in ("done", "review", "released")
        else (int(100 * done / total) if total else 0)
    )
    seconds_left = None
    if running and started_at and total and 0 < done < total:
        elapsed = now - started_at
        if elapsed >= ESTIMATE_AFTER:
            seconds_left = int(elapsed.total_seconds() * (total - done) / done)
    text = f"{done} / {total} ({percent} %)" if total else str(label)
    if seconds_left is not None:
        text += f" — {time_left_text(seconds_left)}"
    return Progress(status, str(label), running, done, total, percent, seconds_left, text)


def time_left_text(seconds: int) -> str:
    if seconds < 60:
        return "less than a minute left"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minute{'s' if minutes != 1 else ''} left"
    return f"about {round(minutes / 60)} hours left"


def progress_html(progress: Progress, status_url: str) -> str:
    """The bar and its figures; while the job runs, job-progress.js updates them from status_url
    and reloads the page once the job is over (so its results appear)."""
    return format_html(
        '<span class="job-progress-box" data-progress-url="{}" data-running="{}">'
        '<progress class="job-progress" max="100" value="{}" aria-label="progress">{} %</progress>'
        ' <span class="job-progress-text" aria-live="polite">{}</span></span>',
        status_url if progress.running else "",
        "1" if progress.running else "0",
        progress.percent,
        progress.percent,
        progress.text,
    )


def progress_response(progress: Progress) -> JsonResponse:
    response = JsonResponse(asdict(progress))
    response["Cache-Control"] = "no-store"
    return response
