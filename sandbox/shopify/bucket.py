"""The leaky bucket of calculated query cost, one per access token (app + store in Shopify's terms)."""

from __future__ import annotations

import math
import threading
from typing import Protocol

from sandbox.shopify.settings import Plan


class MonotonicClock(Protocol):
    def monotonic(self) -> float: ...


class LeakyBucket:
    """Points available refill continuously at the restore rate, up to the bucket size.

    A request may run only if the bucket holds its whole requested cost; the requested cost is taken up
    front and the difference to the actual cost is given back after execution (shopify.dev, "GraphQL
    Admin API rate limits").
    """

    def __init__(self, plan: Plan, clock: MonotonicClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.plan = plan
        self._available = plan.bucket_size
        self._stamp = clock.monotonic()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        elapsed = max(0.0, now - self._stamp)
        # Rounded to micro-points so binary float noise (0.15 s x 100 = 14.999...) never decides a throttle.
        self._available = round(
            min(self.plan.bucket_size, self._available + elapsed * self.plan.restore_rate), 6
        )
        self._stamp = now

    def try_take(self, cost: int) -> bool:
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def refund(self, points: int) -> None:
        with self._lock:
            self._refill()
            self._available = min(self.plan.bucket_size, self._available + max(0, points))

    def drain(self) -> None:
        with self._lock:
            self._refill()
            self._available = 0.0

    def status(self) -> dict[str, float | int]:
        with self._lock:
            self._refill()
            # Shopify reports the maximum and the rate as floats and what is available as a whole number.
            return {
                "maximumAvailable": float(self.plan.bucket_size),
                "currentlyAvailable": math.floor(self._available),
                "restoreRate": float(self.plan.restore_rate),
            }


class Buckets:
    """One bucket per access token, all on the same plan."""

    def __init__(self, plan: Plan, clock: MonotonicClock) -> None:
        self._clock = clock
        self._plan = plan
        self._buckets: dict[str, LeakyBucket] = {}
        self._lock = threading.Lock()

    @property
    def plan(self) -> Plan:
        return self._plan

    def for_token(self, token: str) -> LeakyBucket:
        with self._lock:
            bucket = self._buckets.get(token)
            if bucket is None:
                bucket = self._buckets[token] = LeakyBucket(self._plan, self._clock)
            return bucket

    def set_plan(self, plan: Plan) -> None:
        # A plan change starts every bucket full at the new size, as a fresh app installation would.
        with self._lock:
            self._plan = plan
            self._buckets.clear()
