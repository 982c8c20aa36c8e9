"""A worker whose clock is off the other systems' clocks, for the module under test."""

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
