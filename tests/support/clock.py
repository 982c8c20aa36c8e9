"""Clocks for tests: a worker whose clock is off the other systems' clocks; a monotonic clock whose
sleeps only move it (pacing tests)."""

from __future__ import annotations

import datetime as dt


class SkewedClock:
    """Stands in for the ``datetime`` module (``dt``) of a module under test: its ``datetime.now`` is
    ``skew`` off the real clock, as on a worker whose clock drifted."""

    def __init__(self, skew: dt.timedelta):
        skewed = skew

        class SkewedDatetime(dt.datetime):
            @classmethod
            def now(cls, tz=None):
                return dt.datetime.now(tz) + skewed

        self.datetime, self.timedelta, self.UTC, self.date = SkewedDatetime, dt.timedelta, dt.UTC, dt.date


class FakeTime:
    """A monotonic clock and its ``sleep``: sleeping records the wait and moves the clock, instantly."""

    def __init__(self, now: float = 100.0):
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def next_second() -> dt.datetime:
    """Wait until the wall clock has passed its next whole second, then the time: what happened before
    the call is stamped (in whole seconds, rounded down, as Vendure on SQLite stamps) before the answer."""
    from sandbox.airflow_local import wait_for

    target = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    wait_for(lambda: dt.datetime.now(dt.UTC) >= target, timeout_s=5, what="the next whole second", interval_s=0.02)
    return dt.datetime.now(dt.UTC)
