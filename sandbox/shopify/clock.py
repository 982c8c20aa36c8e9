"""Time sources. The bucket needs a monotonic clock and the store a wall clock; tests inject both."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        # Shopify's DateTime values have second precision; storing them the same way keeps equal
        # timestamps (and so the tie-breaking rules of cursors) as common here as they are there.
        return datetime.now(UTC).replace(microsecond=0)


class ManualClock:
    """A clock that only moves when told to: makes throttling arithmetic and timestamps predictable."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._start = (start or datetime(2026, 10, 1, 12, 0, tzinfo=UTC)).replace(microsecond=0)
        self._elapsed = 0.0

    def monotonic(self) -> float:
        with self._lock:
            return 1000.0 + self._elapsed

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=int(self._elapsed))

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._elapsed += seconds
