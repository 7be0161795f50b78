"""What every measurement shares: the result row, the timer, the officer who looks, raw SQL."""

from __future__ import annotations

import statistics
import time
import tracemalloc
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection

from staff.roles import PRIVACY_OFFICER, sync_roles

PAGE = 50


@dataclass
class Result:
    name: str
    n: int
    median_s: float
    baseline_s: float
    unit: str = "s"
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.median_s / self.baseline_s if self.baseline_s else float("inf")


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time of `repeat` calls (after one warm-up call) and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def timed_from(reset, fn, repeat: int, *, warm_up: bool = True) -> tuple[float, object]:
    """Median wall time of `repeat` calls of fn, each after reset() (not timed), and the last
    result; with warm_up, one more call first that does not count."""
    times, result = [], None
    for _ in range(repeat + warm_up):
        reset()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times[warm_up:]), result


def raw_rows(sql: str, params) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def officer():
    sync_roles()
    user, created = get_user_model().objects.get_or_create(
        username="bench-officer", defaults={"is_staff": True}
    )
    if created:
        from django.contrib.auth.models import Group

        user.groups.add(Group.objects.get(name=PRIVACY_OFFICER))
    return user


def peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()
