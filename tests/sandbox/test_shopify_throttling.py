"""Cost-based throttling, checked against the documented arithmetic on a manual clock."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import Shop

PAGE = "{ products(first: 250) { nodes { id } } }"  # 2 + 250 x 1 = 252 points


@pytest.fixture
def full_shop(standard_shop: Shop) -> Shop:
    """250 products, so that a 250-item page costs what it requested (no refund)."""
    standard_shop.admin(
        "POST",
        "/seed",
        {
            "locations": ["Main"],
            "products": [{"title": f"P{i}", "variants": [{"sku": f"P{i}"}]} for i in range(250)],
        },
    )
    return standard_shop


def test_a_burst_is_throttled_exactly_where_the_bucket_runs_out(full_shop: Shop) -> None:
    costs = []
    for _ in range(7):  # 7 x 252 = 1764 of the Standard bucket's 2000
        cost = full_shop.gql(PAGE)["extensions"]["cost"]
        assert cost["requestedQueryCost"] == cost["actualQueryCost"] == 252
        costs.append(cost["throttleStatus"]["currentlyAvailable"])
    assert costs == [2000 - 252 * n for n in range(1, 8)]

    throttled = full_shop.gql(PAGE)  # 236 left: less than 252
    assert "data" not in throttled
    assert throttled["errors"] == [
        {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
    ]
    assert throttled["extensions"]["cost"] == {
        "requestedQueryCost": 252,
        "actualQueryCost": None,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 236, "restoreRate": 100.0},
    }

    full_shop.clock.advance(0.15)  # 236 + 15 = 251: still one short
    assert full_shop.gql(PAGE)["errors"][0]["extensions"]["code"] == "THROTTLED"
    full_shop.clock.advance(0.01)  # 252
    assert full_shop.gql(PAGE)["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0


def test_the_difference_between_requested_and_actual_is_refunded(standard_shop: Shop) -> None:
    standard_shop.admin(
        "POST", "/seed", {"locations": ["Main"], "products": [{"title": "Only", "variants": [{}]}]}
    )
    cost = standard_shop.gql(PAGE)["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (252, 3)
    assert cost["throttleStatus"]["currentlyAvailable"] == 2000 - 3


def test_a_query_over_1000_points_is_refused_before_running_and_costs_nothing(standard_shop: Shop) -> None:
    body = standard_shop.gql("{ products(first: 100) { nodes { variants(first: 10) { nodes { id } } } } }")
    # 2 + 100 x (1 + 2 + 10 x 1) = 1302
    assert body["errors"][0]["extensions"] == {
        "code": "MAX_COST_EXCEEDED",
        "cost": 1302,
        "maxCost": 1000,
        "documentation": "https://shopify.dev/api/usage/rate-limits",
    }
    assert body["errors"][0]["message"].startswith(
        "Query cost is 1302, which exceeds the single query max cost limit (1000)."
    )
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000


@pytest.mark.parametrize(
    ("plan", "size", "rate"),
    [
        ("STANDARD", 2000.0, 100.0),
        ("ADVANCED", 4000.0, 200.0),
        ("PLUS", 20000.0, 1000.0),
        ("ENTERPRISE", 40000.0, 2000.0),
    ],
)
def test_throttle_status_follows_the_plan(standard_shop: Shop, plan: str, size: float, rate: float) -> None:
    standard_shop.admin("PUT", "/plan", {"plan": plan})
    status = standard_shop.gql("{ shop { name } }")["extensions"]["cost"]["throttleStatus"]
    assert status == {"maximumAvailable": size, "currentlyAvailable": int(size) - 1, "restoreRate": rate}


def test_a_set_up_may_replace_the_plans_rate_until_the_next_plan(standard_shop: Shop) -> None:
    answer = standard_shop.admin("PUT", "/plan", {"plan": "ENTERPRISE", "restore_rate": 50000})
    assert answer == {"plan": "ENTERPRISE", "restore_rate": 50000.0, "bucket_size": 1000000.0}
    status = standard_shop.gql("{ shop { name } }")["extensions"]["cost"]["throttleStatus"]
    assert status["restoreRate"] == 50000.0 and status["maximumAvailable"] == 1000000.0
    for bad in (0, -1, "fast", True):
        refused = standard_shop.admin("PUT", "/plan", {"plan": "PLUS", "restore_rate": bad}, expect=400)
        assert "restore_rate" in str(refused)
    standard_shop.admin("PUT", "/plan", {"plan": "STANDARD"})
    status = standard_shop.gql("{ shop { name } }")["extensions"]["cost"]["throttleStatus"]
    assert status["restoreRate"] == 100.0 and status["maximumAvailable"] == 2000.0


def test_mutation_costs_ten_plus_its_payload(standard_shop: Shop) -> None:
    body = standard_shop.gql(
        'mutation { productCreate(product: {title: "A"}) { product { id } userErrors { message } } }'
    )
    assert body["extensions"]["cost"]["requestedQueryCost"] == 12  # 10 + product (1) + userErrors (1)


def test_another_app_has_its_own_bucket(full_shop: Shop) -> None:
    for _ in range(7):
        full_shop.gql(PAGE)
    assert full_shop.gql(PAGE)["errors"][0]["extensions"]["code"] == "THROTTLED"
    other = full_shop.admin("POST", "/apps", {})["access_token"]
    assert other != full_shop.token
    cost = full_shop.gql(PAGE, token=other)["extensions"]["cost"]
    assert cost["throttleStatus"]["currentlyAvailable"] == 2000 - 252  # a full bucket of its own
    assert full_shop.gql(PAGE)["errors"][0]["extensions"]["code"] == "THROTTLED"  # ours is still empty
    assert full_shop.post({"query": PAGE}, token="shpat_" + "0" * 32).status_code == 401
