"""Our own pacing for Vendure, which meters nobody: a stock Vendure server has no rate limit, so a sync
that sends as fast as it can competes with the shoppers for the same Node process. A token bucket keeps
the integration at ``rate`` requests per second (``burst`` at once), shared by every thread of a client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RequestPacer:
    rate: float  # requests per second; 0: no pacing
    burst: float = 5.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    waited_s: float = 0.0  # total time spent waiting (run stats)
    _tokens: float | None = field(default=None, repr=False)  # None: no request yet (a full burst)
    _at: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def acquire(self) -> None:
        """Wait until one more request fits the rate."""
        if self.rate <= 0:
            return
        with self._lock:
            now = self.clock()
            if self._tokens is None:
                self._tokens, self._at = self.burst, now
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited_s += wait
        if wait > 0:
            self.sleep(wait)
