"""Pace GraphQL calls below Shopify's cost bucket instead of running into THROTTLED.

Shopify meters each app per store with a leaky bucket: a call is admitted when the bucket holds its
requested cost; the bucket refills at ``restoreRate`` points per second up to ``maximumAvailable``.
Every response reports ``extensions.cost.throttleStatus`` after the call was charged. We keep that
report with the local time we received it and predict the bucket from there: the prediction is
conservative (the server measured it before the response travelled back), so waiting until the
prediction covers the next call's cost keeps us at the restore rate with no THROTTLED at steady state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CostBucket:
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    maximum: float | None = None
    available: float | None = None
    restore_rate: float | None = None
    observed_at: float = 0.0
    waited_s: float = 0.0  # total time spent waiting for the bucket (reported in logs and run stats)
    # A background reader (reconciliation) leaves this share of the bucket to the flows: it waits until
    # the bucket holds its call's cost plus the reserve, so a flow drawing at the same time finds points.
    reserve_share: float = 0.0
    # Points of the calls sent and not answered yet (several threads may share this client): a report
    # from the store may not count them yet, so they stay subtracted until their own answer comes.
    in_flight: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def predicted(self, now: float | None = None) -> float | None:
        if self.available is None or self.restore_rate is None or self.maximum is None:
            return None
        now = self.clock() if now is None else now
        return min(self.maximum, self.available + self.restore_rate * max(0.0, now - self.observed_at))

    def wait_time(self, cost: float) -> float:
        """Seconds until the bucket should hold ``cost`` points (0 when unknown: the first call learns)."""
        predicted = self.predicted()
        if predicted is None or not self.restore_rate:
            return 0.0
        wanted = min(cost + self.reserve_share * self.maximum, self.maximum)
        return max(0.0, (wanted - predicted) / self.restore_rate)

    def acquire(self, cost: float) -> float:
        """Wait until a call of ``cost`` points should be admitted; reserve it; return the wait."""
        with self._lock:
            wait = self.wait_time(cost)
            if wait > 0:
                self.sleep(wait)
                self.waited_s += wait
            # Reserve the points so that concurrent callers of this client do not all go at once.
            if self.available is not None:
                now = self.clock()
                self.available = self.predicted(now) - cost
                self.observed_at = now
            self.in_flight += cost
            return wait

    def settle(self, cost: float) -> None:
        """A call reserved with ``acquire(cost)`` ended without a report (it failed on the way)."""
        with self._lock:
            self.in_flight = max(0.0, self.in_flight - cost)

    def observe(self, throttle_status: dict, settled: float = 0.0) -> None:
        """Take a server report ``{"maximumAvailable", "currentlyAvailable", "restoreRate"}`` answering a
        call reserved with ``acquire(settled)``: it replaces our estimate (it already counts that call),
        less what the other calls in flight will take."""
        with self._lock:
            self.in_flight = max(0.0, self.in_flight - settled)
            self.maximum = float(throttle_status["maximumAvailable"])
            self.restore_rate = float(throttle_status["restoreRate"])
            self.available = float(throttle_status["currentlyAvailable"]) - self.in_flight
            self.observed_at = self.clock()
