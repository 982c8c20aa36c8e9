"""Guests buying through the real Vendure's Shop API, staff cancelling and refunding through the Admin API,
and the shopper doing both at a rate."""

from __future__ import annotations

import itertools

import pytest

from sandbox.tryton.process import wait_until
from sandbox.vendure.errors import ErrorResult
from sandbox.vendure.seed import seed_catalog
from sandbox.vendure.shopper import (
    Guest,
    Shopper,
    ShopperConfig,
    ShopperRunner,
    cancel_order,
    guest_checkout,
    refund_order,
)
from tests.sandbox.conftest_vendure import *

pytestmark = pytest.mark.vendure

GUEST = Guest("Ava", "Smith", "ava.smith@example.com", "1 Main St", "Portland", "97205", "OR", "US")
ORDER = """query($id: ID!) { order(id: $id) { code state active totalWithTax shippingWithTax
  customer { emailAddress } shippingAddress { city countryCode }
  lines { quantity unitPriceWithTax productVariant { sku } }
  payments { method state amount refunds { state total } } } }"""
STOCK = """query($sku: String!) { productVariants(options: {filter: {sku: {eq: $sku}}}) {
  items { stockLevels { stockLocation { name } stockOnHand stockAllocated } } } }"""
_names = itertools.count()


@pytest.fixture
def catalog(vendure):
    """A shoe (10 at Main Warehouse, 2 at Outlet, $89.90) and a hat (3 at Main Warehouse, $25.00) of this
    test's own: variant id by SKU."""
    n = next(_names)
    shoe, hat = f"SHOE-{n}", f"HAT-{n}"
    admin = vendure.admin()
    seed_catalog(
        admin,
        {
            "locations": ["Main Warehouse", "Outlet"],
            "products": [
                {
                    "title": f"Trail Shoe {n}",
                    "option_name": "Size",
                    "variants": [
                        {
                            "sku": shoe,
                            "option": "40",
                            "price": "89.90",
                            "inventory": {"Main Warehouse": 10, "Outlet": 2},
                        }
                    ],
                },
                {
                    "title": f"Wool Hat {n}",
                    "variants": [{"sku": hat, "price": "25.00", "inventory": {"Main Warehouse": 3}}],
                },
            ],
        },
    )
    ids = admin.data(
        "query($skus: [String!]!) { productVariants(options: {filter: {sku: {in: $skus}}}) "
        "{ items { id sku } } }",
        {"skus": [shoe, hat]},
    )["productVariants"]["items"]
    return {"shoe": shoe, "hat": hat} | {v["sku"]: v["id"] for v in ids}


def stock(vendure, sku):
    (variant,) = vendure.admin().data(STOCK, {"sku": sku})["productVariants"]["items"]
    return {
        level["stockLocation"]["name"]: (level["stockOnHand"], level["stockAllocated"])
        for level in variant["stockLevels"]
        if level["stockLocation"]["name"] != "Default Stock Location"
    }


def test_guest_checkout_makes_a_settled_order_that_allocates_stock(vendure, catalog):
    shoe, hat = catalog["shoe"], catalog["hat"]
    shop = vendure.shop()
    order = guest_checkout(shop, [(catalog[shoe], 2), (catalog[hat], 1)], GUEST)
    assert shop.token  # the session Vendure handed out on the first addItemToOrder kept the cart
    assert (order["state"], order["active"], order["totalWithTax"]) == ("PaymentSettled", False, 21079)

    placed = vendure.admin().data(ORDER, {"id": order["id"]})["order"]
    assert placed["code"] == order["code"]
    assert placed["totalWithTax"] == 2 * 8990 + 2500 + 599  # 0% tax, flat shipping 5.99
    assert placed["shippingWithTax"] == 599
    assert placed["customer"] == {"emailAddress": "ava.smith@example.com"}
    assert placed["shippingAddress"] == {"city": "Portland", "countryCode": "US"}
    assert [
        (line["productVariant"]["sku"], line["quantity"], line["unitPriceWithTax"])
        for line in placed["lines"]
    ] == [(shoe, 2, 8990), (hat, 1, 2500)]
    assert placed["payments"] == [
        {"method": "dummy-payment", "state": "Settled", "amount": 21079, "refunds": []}
    ]
    # Settled orders allocate; stock on hand moves only when an order is fulfilled.
    assert stock(vendure, shoe) == {"Main Warehouse": (10, 2), "Outlet": (2, 0)}
    assert stock(vendure, hat) == {"Main Warehouse": (3, 1), "Outlet": (0, 0)}


def test_cancel_releases_the_allocation_and_refund_is_by_amount(vendure, catalog):
    shoe = catalog["shoe"]
    order = guest_checkout(vendure.shop(), [(catalog[shoe], 3)], GUEST)
    admin = vendure.admin()

    refund = refund_order(admin, order["id"], 8990)
    assert (refund["state"], refund["total"]) == ("Settled", 8990)
    with pytest.raises(ErrorResult) as too_much:
        refund_order(admin, order["id"], 3 * 8990 + 599 - 8990 + 1)
    assert too_much.value.error_code == "REFUND_AMOUNT_ERROR"

    assert cancel_order(admin, order["id"])["state"] == "Cancelled"
    cancelled = admin.data(ORDER, {"id": order["id"]})["order"]
    assert (
        cancelled["state"],
        cancelled["totalWithTax"],
        [line["quantity"] for line in cancelled["lines"]],
    ) == ("Cancelled", 0, [0])
    # Cancelling does not give the money back: the payment stays settled, with the one refund made.
    assert cancelled["payments"] == [
        {
            "method": "dummy-payment",
            "state": "Settled",
            "amount": 3 * 8990 + 599,
            "refunds": [{"state": "Settled", "total": 8990}],
        }
    ]
    assert stock(vendure, shoe) == {"Main Warehouse": (10, 0), "Outlet": (2, 0)}
    with pytest.raises(ErrorResult) as twice:
        cancel_order(admin, order["id"])
    assert twice.value.error_code == "EMPTY_ORDER_LINE_SELECTION_ERROR"  # nothing left to cancel


def test_a_purchase_beyond_stock_is_refused(vendure, catalog):
    hat = catalog["hat"]
    guest_checkout(vendure.shop(), [(catalog[hat], 1)], GUEST)  # 3 on hand, 1 allocated: 2 saleable

    shop = vendure.shop()
    with pytest.raises(ErrorResult) as refused:
        guest_checkout(shop, [(catalog[hat], 5)], GUEST)
    assert refused.value.error_code == "INSUFFICIENT_STOCK_ERROR"
    assert refused.value.result["quantityAvailable"] == 2
    # Vendure put the 2 it could in the cart; nothing was ordered or allocated.
    active = shop.data("{ activeOrder { state lines { quantity } } }")["activeOrder"]
    assert active == {"state": "AddingItems", "lines": [{"quantity": 2}]}
    assert stock(vendure, hat) == {"Main Warehouse": (3, 1), "Outlet": (0, 0)}


def test_the_shopper_buys_cancels_and_refunds_and_counts_refusals(vendure, catalog):
    admin = vendure.admin()
    shopper = Shopper(vendure.shop_api_url, admin, ShopperConfig(seed=3, cancel_rate=0.2, refund_rate=0.2))
    results = [shopper.step() for _ in range(15)]
    actions = [r["action"] for r in results]
    assert set(actions) <= {"order", "rejected", "cancel", "refund", "skipped"}
    assert shopper.stats["orders"] == actions.count("order") >= 1
    assert shopper.stats["cancelled"] + shopper.stats["refunded"] >= 1
    for result in results:
        if result["action"] == "order":
            assert result["state"] == "PaymentSettled"
            assert admin.data(ORDER, {"id": result["order_id"]})["order"]["state"] in (
                "PaymentSettled",
                "Cancelled",
            )


def test_the_shopper_runner_shops_in_the_background_until_stopped(vendure, catalog):
    runner = ShopperRunner(vendure.shop_api_url, vendure.admin())
    runner.start(ShopperConfig(rate=20, seed=5, cancel_rate=0, refund_rate=0))
    try:
        assert wait_until(lambda: sum(runner.status()["stats"].values()) >= 3, 60)
    finally:
        runner.stop()
    status = runner.status()
    assert status["running"] is False and status["errors"] == 0
    assert status["stats"]["orders"] + status["stats"]["rejected"] >= 1
    done = sum(status["stats"].values())
    assert sum(runner.status()["stats"].values()) == done  # stopped: nothing more happens
