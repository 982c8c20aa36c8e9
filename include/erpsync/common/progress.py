"""Progress lines for long work: rows done / total and the rate, at most every few seconds."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class Progress:
    def __init__(self, log: logging.Logger, what: str, total: int | None = None, every_s: float = 5.0,
                 detail: Callable[[], str] | None = None):
        self.log = log
        self.what = what
        self.total = total
        self.every_s = every_s
        self.detail = detail  # more to say on each line, e.g. the time spent waiting for a rate limit
        self.done = 0
        self.started = time.monotonic()
        self._last = self.started

    def add(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self._log(now)

    def finish(self) -> float:
        now = time.monotonic()
        self._log(now, final=True)
        return now - self.started

    def _log(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self.started, 1e-9)
        of_total = f"/{self.total}" if self.total is not None else ""
        self.log.info(
            "%s: %s%d%s rows in %.1fs (%.0f rows/s)%s",
            self.what, "done, " if final else "", self.done, of_total, elapsed, self.done / elapsed,
            f", {self.detail()}" if self.detail else "",
        )
