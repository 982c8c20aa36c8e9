"""Retry with exponential backoff, shared by every client.

A client decides *whether* a failure is worth retrying (its protocol knows: a dropped connection, a
429 with Retry-After, a GraphQL THROTTLED); this module decides *when*, and never sleeps after the
last attempt. Airflow task retries are for whole-task failures only, never for a single API call.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """How many times to try and how long to wait between tries."""

    attempts: int = 5
    base_s: float = 0.5
    max_s: float = 30.0
    jitter: float = 0.2  # +/- share of the delay, so parallel workers do not retry in lockstep

    def delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        raw = min(self.max_s, self.base_s * 2 ** (retry_number - 1))
        spread = raw * self.jitter
        return max(0.0, raw + (rng or random).uniform(-spread, spread))


class Retry(Exception):
    """Raised by a classifier to ask for another attempt; ``wait_s`` overrides the backoff (Retry-After).

    ``counts`` False: the attempt does not use up one of the backoff's (the call was refused for now, not
    failed, e.g. a rate limit other callers share); the classifier then bounds these retries itself."""

    def __init__(self, reason: str, wait_s: float | None = None, *, counts: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.wait_s = wait_s
        self.counts = counts


def call_with_retries(
    attempt: Callable[[], T],
    classify: Callable[[Exception], Retry | None],
    backoff: Backoff,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``attempt`` until it returns, retrying the failures ``classify`` turns into :class:`Retry`.

    ``classify`` returns None for a failure that must propagate as it is (a bad request, a business
    error): retrying those would only repeat them. After the last attempt the original error propagates.
    A retry that does not count (``Retry.counts``) is not an attempt: the classifier stops those.
    """
    number = 1
    while True:
        try:
            return attempt()
        except Exception as error:  # noqa: BLE001 - the classifier decides what is retryable
            decision = classify(error)
            if decision is None or (decision.counts and number == backoff.attempts):
                raise
            wait = decision.wait_s if decision.wait_s is not None else backoff.delay(number)
            log.warning(
                "%s failed (%s), attempt %d/%d%s, retrying in %.2fs",
                what, decision.reason, number, backoff.attempts, "" if decision.counts else " (not counted)",
                wait,
            )
            number += decision.counts
            if wait > 0:
                sleep(wait)
