"""Fault injection: each kind observable from a client, and reproducible from its seed."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.shopify.faults import FaultInjector
from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import SET_QUANTITIES, Shop, new_key, quantities_input


def _set_available(shop: Shop, quantity: int, **kwargs) -> requests.Response:
    ids = shop.ids("HAT-1")
    return shop.post(
        {
            "query": SET_QUANTITIES,
            "variables": {
                "input": quantities_input([(ids["item"], ids["Main Warehouse"], quantity, None)]),
                "key": new_key(),
            },
        },
        **kwargs,
    )


def _fault(shop: Shop, **rule) -> None:
    """One occurrence of a fault, on the inventory mutation only (the helpers' own queries are spared)."""
    shop.admin(
        "PUT", "/faults", {"seed": 1, "rules": [{"count": 1, "match": "inventorySetQuantities", **rule}]}
    )


def _wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_latency(shop: Shop) -> None:
    _fault(shop, kind="latency", latency_ms=300)
    started = time.monotonic()
    assert _set_available(shop, 1).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_5xx_and_429_with_retry_after_do_not_execute(shop: Shop) -> None:
    _fault(shop, kind="error_5xx", status=502)
    assert _set_available(shop, 0).status_code == 502
    _fault(shop, kind="rate_limit_429", retry_after=3)
    response = _set_available(shop, 0)
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert shop.level("HAT-1")["available"] == 3
    assert _set_available(shop, 1).status_code == 200  # the rules were used up (count 1)


def test_timeout_holds_the_request_past_the_client_timeout_then_applies_it(shop: Shop) -> None:
    _fault(shop, kind="timeout", hold_seconds=1.0)
    with pytest.raises(requests.Timeout):
        _set_available(shop, 0, timeout=0.3)
    _wait_for(lambda: shop.level("HAT-1")["available"] == 0)


def test_dropped_connection_before_execution_applies_nothing(shop: Shop) -> None:
    _fault(shop, kind="drop_before")
    with pytest.raises(requests.ConnectionError):
        _set_available(shop, 0)
    assert shop.level("HAT-1")["available"] == 3


def test_dropped_connection_after_execution_has_applied_the_mutation(shop: Shop) -> None:
    _fault(shop, kind="drop_after")
    with pytest.raises(requests.ConnectionError):
        _set_available(shop, 0)
    assert shop.level("HAT-1")["available"] == 0  # a retry without the idempotency key would apply twice


def test_throttle_storm_drains_the_bucket(shop: Shop) -> None:
    _fault(shop, kind="throttle_storm")
    body = _set_available(shop, 1).json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0


def test_faults_at_a_rate_are_reproducible_from_the_seed() -> None:
    config = {"seed": 42, "rules": [{"kind": "error_5xx", "rate": 0.3}, {"kind": "latency", "rate": 0.5}]}
    runs = []
    for _ in range(2):
        injector = FaultInjector(config)
        runs.append([sorted(injector.decide("{ shop { name } }")) for _ in range(50)])
    assert runs[0] == runs[1]
    assert 5 < sum(1 for fired in runs[0] if "error_5xx" in fired) < 25


def test_unknown_fault_kinds_are_refused(shop: Shop) -> None:
    response = shop.admin("PUT", "/faults", {"rules": [{"kind": "meteor"}]}, expect=400)
    assert "unknown fault kind" in response["error"]
