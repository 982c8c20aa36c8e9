"""Webhook delivery the way Shopify does it: an HTTP POST of the JSON body to each subscription's address,
signed with the app's client secret, from a worker thread (never inside the request that made the change),
retried with backoff when no 2xx comes back in time.

The store hands over its events at commit (`publish`, under the store's lock, so bodies describe the
state as committed); from there a delivery lives in this module only: a queue ordered by due time, one
worker, an in-memory history for the admin endpoint. Pending deliveries do not survive a restart.
Retry delays and the timeout are real seconds (configurable), not the emulator's clock; the bodies'
timestamps and X-Shopify-Triggered-At are the emulator's clock.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from http.client import HTTPException
from typing import Any

from sandbox.shopify.faults import WEBHOOK_KINDS, FaultInjector
from sandbox.shopify.settings import API_VERSION, SHOP_DOMAIN
from sandbox.shopify.state.records import WebhookSubscription
from sandbox.shopify.state.store import Event, Store
from sandbox.shopify.state.webhooks import subscriptions_for
from sandbox.shopify.webhook_payloads import build, include_fields

# Shopify waits 5 s for a 2xx and retries 8 times over 4 hours; a sandbox retries the same number of
# times within about four minutes (config.json "webhooks" replaces both).
DEFAULT_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
DEFAULT_TIMEOUT = 5.0
USER_AGENT = "Shopify-Captain-Hook"


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    retry_delays_seconds: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    timeout_seconds: float = DEFAULT_TIMEOUT
    history: int = 1000  # deliveries kept for GET /_emulator/webhooks

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> WebhookSettings:
        config = dict(config or {})
        unknown = set(config) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown webhooks config keys {sorted(unknown)}")
        if "retry_delays_seconds" in config:
            delays = tuple(float(d) for d in config["retry_delays_seconds"])
            if any(d < 0 for d in delays):
                raise ValueError("retry_delays_seconds must not be negative")
            config["retry_delays_seconds"] = delays
        settings = cls(**config)
        if settings.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        return settings


def signature(secret: str, body: bytes) -> str:
    """X-Shopify-Hmac-Sha256: base64 of the HMAC-SHA256 of the raw body, keyed with the client secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass(slots=True)
class Delivery:
    """One event to one subscription, with all its attempts (one X-Shopify-Webhook-Id)."""

    webhook_id: str
    event_id: str
    subscription_id: int
    topic: str
    uri: str
    body: bytes
    triggered_at: datetime
    created: int  # creation order, for webhook_reorder
    faults: list[str] = field(default_factory=list)
    state: str = "pending"  # pending | held | delivered | failed | dropped
    attempts: int = 0
    last_status: int | str | None = None  # the HTTP status, "timeout" or "connection error"
    last_attempt_at: datetime | None = None

    def headers(self, secret: str) -> dict[str, str]:
        if "webhook_bad_signature" in self.faults:
            secret = secrets.token_hex(16)  # anything but the app's secret
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Hmac-Sha256": signature(secret, self.body),
            "X-Shopify-Shop-Domain": SHOP_DOMAIN,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Event-Id": self.event_id,
            "X-Shopify-Triggered-At": self.triggered_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }

    def describe(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "subscription_id": self.subscription_id,
            "topic": self.topic,
            "uri": self.uri,
            "triggered_at": self.triggered_at.isoformat(),
            "state": self.state,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "last_attempt_at": self.last_attempt_at.isoformat() if self.last_attempt_at else None,
            "faults": list(self.faults),
        }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Shopify does not follow redirects: a 3xx is a failed attempt."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


# No proxies from the environment: deliveries go straight to the address, as Shopify's do.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)


def post(uri: str, body: bytes, headers: dict[str, str], timeout: float) -> int | str:
    """One attempt: the HTTP status, or "timeout" / "connection error"."""
    request = urllib.request.Request(uri, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except TimeoutError:
        return "timeout"
    except urllib.error.URLError as error:
        return "timeout" if isinstance(error.reason, TimeoutError) else "connection error"
    except (HTTPException, OSError):
        return "connection error"


class WebhookDispatcher:
    def __init__(
        self, clock: Any, faults: FaultInjector, client_secret: str, settings: WebhookSettings
    ) -> None:
        self.clock = clock
        self.faults = faults
        self.client_secret = client_secret
        self.settings = settings
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, Delivery]] = []  # (due, sequence, delivery)
        self._sequence = itertools.count()
        self._held: dict[int, list[Delivery]] = {}  # subscription id -> deliveries held by webhook_reorder
        self._in_flight = 0
        self._history: deque[Delivery] = deque(maxlen=settings.history)
        self._closing = False
        self._worker = threading.Thread(target=self._run, name="shopify-webhooks", daemon=True)
        self._worker.start()

    # -- from the store ----------------------------------------------------------------------------------

    def publish(self, store: Store, events: list[Event]) -> None:
        """Queue a delivery per event and subscription (called at commit, under the store's lock)."""
        for event in events:
            subscriptions = subscriptions_for(store, event.topic)
            if not subscriptions:
                continue
            body = build(store, event)
            if body is None:  # created and deleted in the same transaction
                continue
            event_id = str(uuid.uuid4())
            for subscription in subscriptions:
                self._enqueue(event, event_id, subscription, body)

    def _enqueue(
        self, event: Event, event_id: str, subscription: WebhookSubscription, body: dict[str, Any]
    ) -> None:
        raw = json.dumps(
            include_fields(body, subscription.include_fields), separators=(",", ":"), ensure_ascii=False
        ).encode()
        fired = self.faults.decide(event.topic, WEBHOOK_KINDS)

        def delivery() -> Delivery:
            return Delivery(
                str(uuid.uuid4()),
                event_id,
                subscription.id,
                event.topic,
                subscription.uri,
                raw,
                event.triggered_at,
                next(self._sequence),
                sorted(fired),
            )

        first = delivery()
        with self._cond:
            self._history.append(first)
            if "webhook_drop" in fired:
                first.state = "dropped"
                return
            delay = fired["webhook_delay"].delay_seconds if "webhook_delay" in fired else 0.0
            if "webhook_reorder" in fired:
                first.state = "held"
                self._held.setdefault(subscription.id, []).append(first)
            else:
                self._schedule(first, delay)
            if "webhook_duplicate" in fired:
                second = delivery()  # a second delivery of the same event: new webhook id, same event id
                self._history.append(second)
                self._schedule(second, delay)
            self._cond.notify_all()

    def _schedule(self, delivery: Delivery, delay: float) -> None:
        delivery.state = "pending"
        heapq.heappush(self._queue, (time.monotonic() + delay, next(self._sequence), delivery))

    # -- the worker --------------------------------------------------------------------------------------

    def _next_due(self) -> Delivery | None:
        with self._cond:
            while not self._closing:
                now = time.monotonic()
                if self._queue and self._queue[0][0] <= now:
                    self._in_flight += 1
                    return heapq.heappop(self._queue)[2]
                self._cond.wait(self._queue[0][0] - now if self._queue else None)
            return None

    def _run(self) -> None:
        while (delivery := self._next_due()) is not None:
            headers = delivery.headers(self.client_secret)
            status = post(delivery.uri, delivery.body, headers, self.settings.timeout_seconds)
            with self._cond:
                self._in_flight -= 1
                delivery.attempts += 1
                delivery.last_status = status
                delivery.last_attempt_at = self.clock.now()
                retries = self.settings.retry_delays_seconds
                if isinstance(status, int) and 200 <= status < 300:
                    delivery.state = "delivered"
                elif delivery.attempts <= len(retries):
                    self._schedule(delivery, retries[delivery.attempts - 1])
                else:
                    delivery.state = "failed"
                if delivery.attempts == 1:
                    self._release_held_before(delivery)
                self._cond.notify_all()

    def _release_held_before(self, delivery: Delivery) -> None:
        """A later event of the subscription has gone out: what webhook_reorder held before it follows."""
        held = self._held.get(delivery.subscription_id, [])
        for earlier in [h for h in held if h.created < delivery.created]:
            held.remove(earlier)
            self._schedule(earlier, 0.0)
        if not held:
            self._held.pop(delivery.subscription_id, None)

    # -- admin -------------------------------------------------------------------------------------------

    def _busy(self) -> bool:
        return bool(self._queue or self._in_flight)

    def flush(self, timeout: float) -> bool:
        """Wait until nothing is queued or in flight; held deliveries with no next event to wait for are
        released first. False if the timeout passed before."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if not self._busy() and self._held:
                    for held in itertools.chain.from_iterable(self._held.values()):
                        self._schedule(held, 0.0)
                    self._held.clear()
                    self._cond.notify_all()
                if not self._busy():
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closing:
                    return False
                self._cond.wait(min(remaining, 0.5))

    def describe(self, limit: int = 100) -> dict[str, Any]:
        with self._cond:
            recent = list(self._history)[-limit:] if limit > 0 else []
            return {
                "queue": {
                    "pending": len(self._queue),
                    "in_flight": self._in_flight,
                    "held": sum(len(held) for held in self._held.values()),
                },
                "deliveries": [d.describe() for d in reversed(recent)],
                "settings": {
                    "retry_delays_seconds": list(self.settings.retry_delays_seconds),
                    "timeout_seconds": self.settings.timeout_seconds,
                },
            }

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._worker.join(timeout=self.settings.timeout_seconds + 5)
