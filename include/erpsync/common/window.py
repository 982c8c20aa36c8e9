"""Half-open extraction windows over a source's modification timestamp.

A run reads ``[start - lag, end)``: ``end`` comes from the run (Airflow's data interval, never the wall
clock), and the lag re-reads a margin before the previous end so that rows committed late (a long ERP
transaction stamps rows with its *start* time) or stamped by a clock running behind ours are not lost.
Rows read twice are harmless: every load downstream is an upsert by key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    start: dt.datetime | None  # None: from the beginning (first run, full refresh)
    end: dt.datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"Window.{name} must be timezone-aware, got {value!r}")
        if self.start is not None and self.start >= self.end:
            raise ValueError(f"empty window: start {self.start.isoformat()} >= end {self.end.isoformat()}")

    @classmethod
    def after_cursor(cls, cursor: dt.datetime | None, end: dt.datetime, lag: dt.timedelta) -> Window:
        """The window a run reads when the last committed cursor is ``cursor``."""
        if cursor is None:
            return cls(None, end)
        return cls(min(cursor - lag, end - dt.timedelta(microseconds=1)), end)

    def __str__(self) -> str:
        start = self.start.isoformat() if self.start else "-inf"
        return f"[{start}, {self.end.isoformat()})"
