"""ShopifyClient against a transport stub: which failures are retried, and how long it waits."""

from __future__ import annotations

import pytest
import requests

from erpsync.common.retry import Backoff
from erpsync.shopify.client import ShopifyClient
from erpsync.shopify.errors import StoreAuthError, StoreGraphQLError, StoreTransportError
from erpsync.shopify.operations import Operation
from erpsync.shopify.pacing import CostBucket
from tests.support.http import StubTransport

QUERY = Operation("Shop", "query", "query Shop { shop { name } }")
MUTATION = Operation("Touch", "mutation", "mutation Touch { x }")


def cost(requested=10, available=1990, actual=None):
    return {"requestedQueryCost": requested, "actualQueryCost": actual if actual is not None else requested,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": available, "restoreRate": 100.0}}


def ok(data=None, **kwargs):
    return 200, {"data": data or {"shop": {"name": "x"}}, "extensions": {"cost": cost(**kwargs)}}


THROTTLED = (200, {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                   "extensions": {"cost": cost(requested=50, available=20, actual=0)}})


class Clock:
    def __init__(self):
        self.now, self.slept = 0.0, []

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.now += seconds


def client_with(replies):
    transport = StubTransport(replies)
    http = requests.Session()
    http.mount("http://", transport)
    clock = Clock()
    bucket = CostBucket(clock=lambda: clock.now, sleep=clock.sleep)
    client = ShopifyClient("http://shop", "shpat_secret", http=http, bucket=bucket,
                           backoff=Backoff(attempts=4, base_s=0.0, jitter=0.0))
    return client, transport, clock


def test_a_throttled_call_waits_exactly_for_the_missing_points():
    client, transport, clock = client_with([THROTTLED, ok()])
    assert client.execute(QUERY) == {"shop": {"name": "x"}}
    assert clock.slept == [0.3]  # (50 requested - 20 available) / 100 per second
    assert client.stats.throttled == 1 and client.stats.requests == 2


def test_a_throttle_the_cost_report_does_not_explain_uses_the_backoffs_attempts():
    fits = (200, {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                  "extensions": {"cost": cost(requested=50, available=1500, actual=0)}})
    client, transport, clock = client_with([fits] * 4)
    with pytest.raises(StoreTransportError, match="throttled after retries although its cost report"):
        client.execute(QUERY)
    assert len(transport.requests) == 4, "the backoff's four attempts, not a loop until the patience runs out"


def test_429_is_retried_after_retry_after_even_for_writes():
    client, _, clock = client_with([(429, {}, {"Retry-After": "2"}), ok()])
    client.execute(MUTATION, idempotent=False)
    assert 2.0 in clock.slept


def test_a_5xx_is_retried_for_idempotent_calls_only():
    client, transport, _ = client_with([(503, {}), ok()])
    client.execute(QUERY)
    assert len(transport.requests) == 2

    client, transport, _ = client_with([(503, {})])
    with pytest.raises(StoreTransportError, match="not idempotent"):
        client.execute(MUTATION, idempotent=False)
    assert len(transport.requests) == 1


def test_a_dropped_connection_is_retried_for_idempotent_calls_only():
    client, transport, _ = client_with([requests.ConnectionError("Connection reset by peer"), ok()])
    client.execute(MUTATION, idempotent=True)
    assert len(transport.requests) == 2

    client, transport, _ = client_with([requests.ConnectionError("Connection reset by peer")])
    with pytest.raises(StoreTransportError):
        client.execute(MUTATION, idempotent=False)
    assert len(transport.requests) == 1


def test_refused_connections_are_retried_for_any_call():
    refused = requests.ConnectionError("NewConnectionError: [Errno 111] Connection refused")
    client, transport, _ = client_with([refused, ok()])
    client.execute(MUTATION, idempotent=False)
    assert len(transport.requests) == 2


def test_graphql_errors_are_not_retried_and_auth_errors_hide_the_token():
    invalid = (200, {"errors": [{"message": "Field 'x' doesn't exist", "extensions": {"code": "undefinedField"}}]})
    client, transport, _ = client_with([invalid])
    with pytest.raises(StoreGraphQLError, match="undefinedField"):
        client.execute(QUERY)
    assert len(transport.requests) == 1

    client, _, _ = client_with([(401, {"errors": "[API] Invalid API key"})])
    with pytest.raises(StoreAuthError) as raised:
        client.execute(QUERY)
    assert "shpat_secret" not in str(raised.value) and "shpat_secret" not in repr(client)


def test_the_token_and_the_operation_travel_as_shopify_expects():
    client, transport, _ = client_with([ok()])
    client.execute(QUERY, {"a": 1})
    request = transport.requests[0]
    assert request.url == "http://shop/admin/api/2026-10/graphql.json"
    assert request.headers["X-Shopify-Access-Token"] == "shpat_secret"
    assert b'"operationName": "Shop"' in request.body
