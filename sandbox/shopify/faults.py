"""Fault injection on the GraphQL endpoint and on webhook deliveries, from configuration or the admin
endpoint.

Each rule fires with its `rate` (drawn from one seeded RNG, so a run is reproducible), optionally only
on requests whose query text contains `match` (for webhook kinds: whose topic, e.g. "orders/create",
contains it), and at most `count` times when a count is given.
Request kinds, in the order they act on a request:
- latency: wait `latency_ms` before handling the request;
- timeout: hold the request `hold_seconds` (past the client's timeout), then handle it normally;
- drop_before: close the connection without a response, before anything is executed;
- error_5xx: answer `status` (500, 502, 503 or 504) without executing;
- rate_limit_429: answer 429 with `Retry-After: retry_after` without executing;
- throttle_storm: empty the caller's cost bucket, so the request is THROTTLED unless it costs nothing;
- drop_after: execute (a mutation is applied and committed), then close the connection without a response.
Webhook kinds, decided once per event and subscription (see webhooks.py):
- webhook_drop: the event is never delivered;
- webhook_duplicate: delivered twice, with the same event id;
- webhook_delay: delivered `delay_seconds` late;
- webhook_reorder: held back until the subscription's next event has been sent;
- webhook_bad_signature: X-Shopify-Hmac-Sha256 is not the body's HMAC.
Request kinds never touch deliveries and webhook kinds never touch requests.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

REQUEST_KINDS = (
    "latency", "timeout", "drop_before", "error_5xx", "rate_limit_429", "throttle_storm", "drop_after"
)
WEBHOOK_KINDS = (
    "webhook_drop", "webhook_duplicate", "webhook_delay", "webhook_reorder", "webhook_bad_signature"
)
KINDS = REQUEST_KINDS + WEBHOOK_KINDS


@dataclass(slots=True)
class FaultRule:
    kind: str
    rate: float = 1.0
    count: int | None = None
    match: str | None = None
    latency_ms: int = 200
    hold_seconds: float = 30.0
    status: int = 503
    retry_after: int = 2
    delay_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        if not 0 <= self.rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        if self.kind == "error_5xx" and self.status not in (500, 502, 503, 504):
            raise ValueError("error_5xx status must be 500, 502, 503 or 504")
        if self.delay_seconds < 0:
            raise ValueError("delay_seconds must not be negative")


class FaultInjector:
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(config or {})

    def configure(self, config: dict[str, Any]) -> None:
        known = {f.name for f in fields(FaultRule)}
        rules = []
        for entry in config.get("rules") or []:
            unknown = set(entry) - known
            if unknown:
                raise ValueError(f"unknown fault rule keys {sorted(unknown)}")
            rules.append(FaultRule(**entry))
        with self._lock:
            self._seed = int(config.get("seed", 0))
            self._rng = random.Random(self._seed)
            self._rules = rules

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self._seed, "rules": [asdict(rule) for rule in self._rules]}

    def decide(self, query_text: str, kinds: tuple[str, ...] = REQUEST_KINDS) -> dict[str, FaultRule]:
        """The rules of these kinds that fire for this request (or webhook topic), by kind."""
        fired: dict[str, FaultRule] = {}
        with self._lock:
            for rule in self._rules:
                if rule.kind not in kinds:
                    continue
                if rule.match is not None and rule.match not in query_text:
                    continue
                if rule.count is not None and rule.count <= 0:
                    continue
                if self._rng.random() < rule.rate and rule.kind not in fired:
                    fired[rule.kind] = rule
                    if rule.count is not None:
                        rule.count -= 1
        return fired
