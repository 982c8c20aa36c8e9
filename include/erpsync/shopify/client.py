"""Shopify Admin GraphQL transport: pacing under the cost bucket, retries, pagination.

Retries (:mod:`erpsync.common.retry`) cover what the store asks us to repeat or what cannot have been
applied: ``THROTTLED`` (we wait exactly until the bucket holds the call again, for as long as
``throttle_patience_s``: the bucket is the app's, and our other tasks draw from it too), HTTP 429
(Retry-After), connections that never reached the store. A call that may have been applied (a read
timeout, a dropped connection, a 5xx) is repeated only when the caller says it is idempotent: queries,
writes of absolute values, and ``inventorySetQuantities`` under an ``@idempotent`` key, which the store
applies once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from erpsync.common.http import HttpRetryable, retry_after_s, server_time, transport_retry
from erpsync.common.retry import Backoff, Retry, call_with_retries
from erpsync.shopify.errors import StoreAuthError, StoreGraphQLError, StoreTransportError
from erpsync.shopify.operations import Operation
from erpsync.shopify.pacing import CostBucket

log = logging.getLogger(__name__)

API_VERSION = "2026-10"
# How long a call may wait for its turn in the app's cost bucket while other calls of ours drain it.
THROTTLE_PATIENCE_S = 300.0


@dataclass
class ClientStats:
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    points: float = 0.0  # actual cost charged

    def as_dict(self, bucket: CostBucket) -> dict[str, float]:
        return {"requests": self.requests, "throttled": self.throttled, "retries": self.retries,
                "points": round(self.points, 1), "rate_wait_s": round(bucket.waited_s, 3)}


class _Throttled(Exception):
    pass


class ShopifyClient:
    def __init__(
        self,
        shop_url: str,
        access_token: str,
        *,
        api_version: str = API_VERSION,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        backoff: Backoff = Backoff(attempts=8, base_s=0.5, max_s=30.0),
        throttle_patience_s: float = THROTTLE_PATIENCE_S,
        bucket: CostBucket | None = None,
        http: requests.Session | None = None,
    ):
        base = shop_url if "://" in shop_url else f"https://{shop_url}"
        self.endpoint = f"{base.rstrip('/')}/admin/api/{api_version}/graphql.json"
        self._token = access_token
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._backoff = backoff
        self.throttle_patience_s = throttle_patience_s
        self.bucket = bucket or CostBucket()
        self._http = http or requests.Session()
        # What requests would take from the environment on every call (proxies, CA bundle), taken once:
        # it reads every environment variable per call, ~1 ms, a tenth of a productSet's own work here.
        self._environment = self._http.merge_environment_settings(self.endpoint, {}, None, None, None)
        self._http.trust_env = False
        self._expected_cost: dict[str, float] = {}  # per operation: the requested cost seen last time
        self.stats = ClientStats()
        self._stats_lock = threading.Lock()  # calls may come from several threads (publish_content)
        self._answered = threading.local()

    @property
    def server_time(self) -> dt.datetime | None:
        """The store's clock when it answered this thread's last call (whole seconds, rounded down)."""
        return getattr(self._answered, "at", None)

    def __repr__(self) -> str:  # never show the token
        return f"ShopifyClient({self.endpoint!r})"

    def execute(self, operation: Operation, variables: dict[str, Any] | None = None, *,
                idempotent: bool | None = None) -> dict[str, Any]:
        """Run ``operation`` and return its ``data``; queries are idempotent unless told otherwise."""
        if idempotent is None:
            idempotent = operation.kind == "query"
        started = self.bucket.clock()

        def classify(error: Exception) -> Retry | None:
            if isinstance(error, _Throttled):
                # Nothing ran. The next attempt waits in the bucket, which now knows the call's cost
                # (without a cost report, fall back to the backoff). The bucket is the app's: another of
                # our tasks drawing from it (a flow beside a reconciliation) is no failure of the store, so
                # the call waits its turn, up to the patience, without using up an attempt.
                if not self.bucket.wait_time(self._expected_cost.get(operation.name, 0.0)):
                    # No cost report, or one that says the call fits: refused for some other reason, so
                    # the backoff's waits and attempts apply (never a tight loop of refusals).
                    return Retry("THROTTLED", wait_s=None)
                if self.bucket.clock() - started >= self.throttle_patience_s:
                    return None
                return Retry("THROTTLED", wait_s=0.0, counts=False)
            return transport_retry(error, idempotent=idempotent)

        def attempt() -> dict[str, Any]:
            with self._stats_lock:
                self.stats.requests += 1
            return self._send(operation, variables or {})

        try:
            return call_with_retries(attempt, self._count_retries(classify), self._backoff,
                                     what=f"store {operation.name}", sleep=self.bucket.sleep)
        except _Throttled as error:
            waited = self.bucket.clock() - started
            if waited < self.throttle_patience_s:  # the backoff's attempts ran out first (see classify)
                raise StoreTransportError(
                    f"store {operation.name} throttled after retries although its cost report left room "
                    "for the call: the store limits it for another reason (check the app's API limits)"
                ) from error
            raise StoreTransportError(
                f"store {operation.name} throttled for {waited:.0f} s: the app's rate limit is taken by its "
                "other calls (our other tasks, or another client with this token); lower the flows' "
                "frequency or raise throttle_patience_s") from error
        except (HttpRetryable, requests.ConnectionError, requests.Timeout) as error:
            raise StoreTransportError(
                f"store {operation.name} failed after retries: {error}"
                + ("" if idempotent else " (not idempotent: not repeated once it may have been applied)")
            ) from error

    def paginate(self, operation: Operation, variables: dict[str, Any], connection: str,
                 ) -> Iterator[list[dict[str, Any]]]:
        """Yield the ``nodes`` of the top-level ``connection`` a page at a time, following ``endCursor``.

        The operation must take an ``$after: String`` variable and select ``nodes`` and
        ``pageInfo { hasNextPage endCursor }`` on the connection.
        """
        after = None
        while True:
            data = self.execute(operation, {**variables, "after": after})
            page = data[connection]
            yield page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    # -- internals ----------------------------------------------------------------------------------

    def _count_retries(self, classify):
        def counted(error: Exception) -> Retry | None:
            decision = classify(error)
            if decision is not None:
                with self._stats_lock:
                    self.stats.retries += 1
            return decision
        return counted

    def _send(self, operation: Operation, variables: dict[str, Any]) -> dict[str, Any]:
        expected = self._expected_cost.get(operation.name, 0.0)
        self.bucket.acquire(expected)
        try:
            response = self._http.post(
                self.endpoint,
                json={"query": operation.document, "variables": variables, "operationName": operation.name},
                headers={"X-Shopify-Access-Token": self._token, "Content-Type": "application/json"},
                timeout=self._timeout, **self._environment,
            )
            body = self._checked(operation, response)
            self._answered.at = server_time(response)
        except BaseException:
            self.bucket.settle(expected)
            raise
        cost = (body.get("extensions") or {}).get("cost")
        if cost:
            self.bucket.observe(cost["throttleStatus"], settled=expected)
            self._expected_cost[operation.name] = float(cost["requestedQueryCost"])
            with self._stats_lock:
                self.stats.points += float(cost.get("actualQueryCost") or 0)
        else:
            self.bucket.settle(expected)
        errors = body.get("errors")
        if errors:
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                with self._stats_lock:
                    self.stats.throttled += 1
                raise _Throttled(operation.name)
            raise StoreGraphQLError(operation.name, errors)
        return body["data"]

    def _checked(self, operation: Operation, response: requests.Response) -> dict[str, Any]:
        """The response's JSON body, or the error its HTTP status means."""
        if response.status_code == 401:
            raise StoreAuthError(f"the store refused the access token ({self.endpoint}): fix the password "
                                 "of the `store_default` Connection")
        if response.status_code == 429 or response.status_code >= 500:
            raise HttpRetryable(response.status_code, retry_after_s(response))
        if response.status_code >= 400:
            raise StoreGraphQLError(operation.name, [{"message": f"HTTP {response.status_code}: "
                                                                 f"{response.text[:300]}"}])
        return response.json()
