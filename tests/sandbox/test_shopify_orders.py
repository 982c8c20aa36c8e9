"""Orders: reading by updated_at with stable cursors, totals, cancellation, refunds, fulfillment, and the
shopper simulator's effect on inventory."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import CATALOG, Shop

ORDERS = """query($after: String, $query: String) {
  orders(first: 2, after: $after, sortKey: UPDATED_AT, query: $query) {
    nodes { id name updatedAt } pageInfo { hasNextPage endCursor } } }"""

ORDER = """query($id: ID!) { order(id: $id) {
  name updatedAt cancelledAt cancelReason displayFinancialStatus displayFulfillmentStatus
  subtotalPriceSet { shopMoney { amount currencyCode } } totalDiscountsSet { shopMoney { amount } }
  totalShippingPriceSet { shopMoney { amount } } totalTaxSet { shopMoney { amount } }
  totalPriceSet { shopMoney { amount } presentmentMoney { amount } }
  currentTotalPriceSet { shopMoney { amount } }
  totalRefundedSet { shopMoney { amount } } discountCodes
  customer { displayName defaultEmailAddress { emailAddress } numberOfOrders }
  shippingAddress { city countryCodeV2 }
  discountApplications(first: 5) { nodes { allocationMethod targetSelection
    value { ... on PricingPercentageValue { percentage } ... on MoneyV2 { amount } }
    ... on DiscountCodeApplication { code } ... on ManualDiscountApplication { title } } }
  lineItems(first: 10) { nodes { sku quantity currentQuantity variant { id }
    originalUnitPriceSet { shopMoney { amount } } discountedTotalSet { shopMoney { amount } }
    discountAllocations { allocatedAmountSet { shopMoney { amount } } }
    taxLines { title rate priceSet { shopMoney { amount } } } } }
  refunds { refundLineItems(first: 5) { nodes { quantity restockType lineItem { sku } } } }
  fulfillmentOrders(first: 5) { nodes { id status lineItems(first: 10) { nodes { id remainingQuantity } } } }
} }"""

FULFILL = """mutation($fulfillment: FulfillmentInput!) { fulfillmentCreate(fulfillment: $fulfillment) {
  fulfillment { name status trackingInfo { company number url } } userErrors { field message } } }"""


def _amount(money_bag: dict) -> Decimal:
    return Decimal(money_bag["shopMoney"]["amount"])


def test_orders_with_equal_updated_at_paginate_without_gaps_or_repeats(shop: Shop) -> None:
    placed = [
        shop.admin("POST", "/orders", {"lines": [{"sku": "HAT-1", "quantity": 1}]})["id"] for _ in range(3)
    ]
    placed.append(shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-41", "quantity": 1}]})["id"])
    placed.append(shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-41", "quantity": 1}]})["id"])
    seen, after = [], None
    while True:  # the clock never moved: every order has the same updatedAt
        page = shop.data(ORDERS, {"after": after, "query": "updated_at:>='2026-10-01T12:00:00Z'"})["orders"]
        seen += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == placed  # id breaks the tie, so the order is stable and complete


def test_updated_at_moves_on_cancel_and_the_sale_is_restocked(shop: Shop) -> None:
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 3}]})
    assert shop.level("SHOE-40") == {"available": 7, "committed": 3, "on_hand": 10}
    shop.clock.advance(30)
    shop.admin("POST", f"/orders/{order['id'].rsplit('/', 1)[1]}/cancel", {"reason": "INVENTORY"})
    data = shop.data(ORDER, {"id": order["id"]})["order"]
    assert data["updatedAt"] == "2026-10-01T12:00:30Z" and data["cancelledAt"] == "2026-10-01T12:00:30Z"
    assert data["cancelReason"] == "INVENTORY" and data["displayFinancialStatus"] == "REFUNDED"
    assert data["lineItems"]["nodes"][0]["currentQuantity"] == 0
    assert data["refunds"][0]["refundLineItems"]["nodes"][0]["restockType"] == "CANCEL"
    assert data["fulfillmentOrders"]["nodes"][0]["status"] == "CANCELLED"
    assert shop.level("SHOE-40") == {"available": 10, "committed": 0, "on_hand": 10}
    newer = shop.data(ORDERS, {"query": "updated_at:>'2026-10-01T12:00:00Z'"})["orders"]["nodes"]
    assert [node["id"] for node in newer] == [order["id"]]


def test_totals_with_code_and_line_discounts_shipping_and_tax_add_up(shop: Shop) -> None:
    order = shop.admin(
        "POST",
        "/orders",
        {
            "email": "ana@example.com",
            "first_name": "Ana",
            "last_name": "Silva",
            "shipping_address": {"city": "Austin", "zip": "73301", "province_code": "TX"},
            "lines": [
                {"sku": "SHOE-40", "quantity": 2, "discount": "10.00"},
                {"sku": "HAT-1", "quantity": 1},
            ],
            "discount_code": "WELCOME10",
            "discount_percentage": 10,
            "shipping_price": "5.99",
            "tax_rate": "0.0825",
        },
    )
    data = shop.data(ORDER, {"id": order["id"]})["order"]
    lines = data["lineItems"]["nodes"]
    # shoe: 179.80 - 10.00 line discount - 16.98 (10% of the rest); hat: 25.00 - 2.50
    assert [_amount(line["discountedTotalSet"]) for line in lines] == [Decimal("152.82"), Decimal("22.50")]
    subtotal = _amount(data["subtotalPriceSet"])
    assert subtotal == Decimal("175.32")
    assert _amount(data["totalDiscountsSet"]) == Decimal("29.48")
    tax = sum(_amount(t["priceSet"]) for line in lines for t in line["taxLines"]) + Decimal("0.49")
    assert _amount(data["totalTaxSet"]) == tax
    assert _amount(data["totalPriceSet"]) == subtotal + Decimal("5.99") + tax
    assert data["subtotalPriceSet"]["shopMoney"]["currencyCode"] == "USD"
    assert data["discountCodes"] == ["WELCOME10"]
    kinds = {(a.get("code") or a.get("title")): a["value"] for a in data["discountApplications"]["nodes"]}
    assert kinds == {"Line discount": {"amount": "10.0"}, "WELCOME10": {"percentage": 10.0}}
    assert data["customer"] == {
        "displayName": "Ana Silva",
        "defaultEmailAddress": {"emailAddress": "ana@example.com"},
        "numberOfOrders": "1",
    }


def test_refund_moves_updated_at_and_current_totals(shop: Shop) -> None:
    order = shop.admin(
        "POST", "/orders", {"lines": [{"sku": "HAT-1", "quantity": 2}], "shipping_price": "5.00"}
    )
    shop.clock.advance(5)
    shop.admin(
        "POST",
        f"/orders/{order['id'].rsplit('/', 1)[1]}/refund",
        {"lines": [{"sku": "HAT-1", "quantity": 1, "restock": True}]},
    )
    data = shop.data(ORDER, {"id": order["id"]})["order"]
    assert data["updatedAt"] == "2026-10-01T12:00:05Z"
    assert data["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert _amount(data["totalRefundedSet"]) == Decimal("25.00")
    assert _amount(data["currentTotalPriceSet"]) == Decimal("30.00")
    assert data["lineItems"]["nodes"][0]["currentQuantity"] == 1
    assert shop.level("HAT-1") == {"available": 2, "committed": 1, "on_hand": 3}


REFUND_TRANSACTIONS = """query($id: ID!) { order(id: $id) { updatedAt refunds { id
  transactions(first: 5) { nodes { id kind status processedAt errorCode
    amountSet { shopMoney { amount } } } } } } }"""


def test_a_refund_pending_until_the_gateway_answers_moves_the_order_when_settled(shop: Shop) -> None:
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "HAT-1", "quantity": 3}]})
    number = order["id"].rsplit("/", 1)[1]
    shop.clock.advance(5)
    pending = shop.admin("POST", f"/orders/{number}/refund",
                         {"lines": [{"sku": "HAT-1", "quantity": 1}], "transaction": "pending"})
    failing = shop.admin("POST", f"/orders/{number}/refund",
                         {"lines": [{"sku": "HAT-1", "quantity": 1}], "transaction": "pending"})
    data = shop.data(REFUND_TRANSACTIONS, {"id": order["id"]})["order"]
    transactions = [r["transactions"]["nodes"] for r in data["refunds"]]
    assert [[(t["kind"], t["status"], t["processedAt"]) for t in ts] for ts in transactions] == [
        [("REFUND", "PENDING", None)]] * 2
    assert _amount(transactions[0][0]["amountSet"]) == Decimal("25.00")
    assert data["updatedAt"] == "2026-10-01T12:00:05Z"

    shop.clock.advance(60)
    for refund, status in ((pending, "SUCCESS"), (failing, "FAILURE")):
        shop.admin("POST", f"/orders/{number}/refunds/{refund['refund_id'].rsplit('/', 1)[1]}/settle",
                   {"status": status})
    data = shop.data(REFUND_TRANSACTIONS, {"id": order["id"]})["order"]
    assert data["updatedAt"] == "2026-10-01T12:01:05Z", "the gateway's answer changes the order"
    assert [(t["status"], t["processedAt"], t["errorCode"]) for r in data["refunds"]
            for t in r["transactions"]["nodes"]] == [("SUCCESS", "2026-10-01T12:01:05Z", None),
                                                     ("FAILURE", "2026-10-01T12:01:05Z", "GENERIC_ERROR")]
    again = shop.admin("POST", f"/orders/{number}/refunds/{pending['refund_id'].rsplit('/', 1)[1]}/settle",
                       {"status": "FAILURE"}, expect=422)
    assert "no pending transaction" in again["userErrors"][0]["message"], "answered once only"


def test_a_refund_gives_its_money_back_in_one_successful_transaction(shop: Shop) -> None:
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "HAT-1", "quantity": 2}]})
    shop.admin("POST", f"/orders/{order['id'].rsplit('/', 1)[1]}/refund",
               {"lines": [{"sku": "HAT-1", "quantity": 1}]})
    (refund,) = shop.data(REFUND_TRANSACTIONS, {"id": order["id"]})["order"]["refunds"]
    assert [(t["status"], _amount(t["amountSet"])) for t in refund["transactions"]["nodes"]] == [
        ("SUCCESS", Decimal("25.00"))]


def test_the_shopper_leaves_refunds_pending_and_the_gateway_answers_them_later(shop: Shop) -> None:
    config = {"seed": 5, "steps": 60, "cancel_rate": 0, "refund_rate": 0.4, "pending_refund_rate": 1.0,
              "settle_after_steps": 4, "refund_failure_rate": 0.5}
    result = shop.admin("POST", "/shopper/step", config)
    stats = result["stats"]
    statuses = Counter(t["status"] for order in shop.admin("GET", "/orders")["orders"]
                       for t in _refund_transactions(shop, order["id"]))
    assert stats["refunded"] >= 5 and stats["refunds_settled"] >= 1 and stats["refunds_refused"] >= 1, stats
    assert statuses == Counter({"SUCCESS": stats["refunds_settled"], "FAILURE": stats["refunds_refused"],
                                "PENDING": stats["refunded"] - stats["refunds_settled"]
                                - stats["refunds_refused"]})
    assert statuses["PENDING"] <= 5, "answered after 4 steps: only the last few still wait"


def _refund_transactions(shop: Shop, order_id: str) -> list[dict]:
    refunds = shop.data(REFUND_TRANSACTIONS, {"id": order_id})["order"]["refunds"]
    return [t for refund in refunds for t in refund["transactions"]["nodes"]]


def test_a_guest_with_a_phone_only_is_one_customer_and_a_guest_with_neither_has_none(shop: Shop) -> None:
    query = ("query($id: ID!) { order(id: $id) { email "
             "customer { id defaultEmailAddress { emailAddress } } } }")
    by_phone = [shop.admin("POST", "/orders", {"lines": [{"sku": "HAT-1", "quantity": 1}], "email": None,
                                               "phone": "+16135550135"}) for _ in range(2)]
    anonymous = shop.admin("POST", "/orders", {"lines": [{"sku": "HAT-1", "quantity": 1}], "email": None})
    first, second = (shop.data(query, {"id": order["id"]})["order"] for order in by_phone)
    assert first["email"] is None and first["customer"]["defaultEmailAddress"] is None
    assert first["customer"]["id"] == second["customer"]["id"]
    assert shop.data(query, {"id": anonymous["id"]})["order"] == {"email": None, "customer": None}


def test_the_shopper_skips_a_pending_refund_someone_answered_before_it(shop: Shop) -> None:
    from sandbox.shopify.shopper import Shopper, ShopperConfig

    order = shop.admin("POST", "/orders", {"lines": [{"sku": "HAT-1", "quantity": 2}]})
    number = order["id"].rsplit("/", 1)[1]
    refund = shop.admin("POST", f"/orders/{number}/refund",
                        {"lines": [{"sku": "HAT-1", "quantity": 1}], "transaction": "pending"})["refund_id"]
    refund_id = int(refund.rsplit("/", 1)[1])
    shop.admin("POST", f"/orders/{number}/refunds/{refund_id}/settle", {"status": "SUCCESS"})
    shopper = Shopper(shop.app.store, ShopperConfig(settle_after_steps=1))
    shopper.pending.append((0, int(number), refund_id))
    assert shopper.step() == {"action": "skipped", "reason": "refund answered already"}
    assert shopper.pending == [] and shopper.stats["refunds_settled"] == shopper.stats["refunds_refused"] == 0


def test_the_shopper_s_phone_only_guests_come_back_as_the_same_customer(shop: Shop) -> None:
    query = """query($id: ID!) { order(id: $id) { email shippingAddress { phone } customer { id } } }"""
    result = shop.admin("POST", "/shopper/step", {"seed": 3, "steps": 30, "cancel_rate": 0, "refund_rate": 0,
                                                  "phone_only_rate": 1.0, "returning_rate": 0.5})
    placed = [shop.data(query, {"id": f"gid://shopify/Order/{a['order_id']}"})["order"]
              for a in result["actions"] if a["action"] == "order"]
    assert len(placed) >= 5 and all(o["email"] is None and o["shippingAddress"]["phone"] for o in placed)
    customers = {o["customer"]["id"] for o in placed}
    phones = {o["shippingAddress"]["phone"] for o in placed}
    assert len(customers) == len(phones) < len(placed), "one customer per phone, and some came back"


def test_fulfillment_create_ships_once_with_tracking(shop: Shop) -> None:
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-41", "quantity": 2}]})
    fo_id = shop.data(ORDER, {"id": order["id"]})["order"]["fulfillmentOrders"]["nodes"][0]["id"]
    shop.clock.advance(10)
    fulfillment = {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo_id}],
        "trackingInfo": {"company": "UPS", "number": "1Z999", "url": "https://ups.example/1Z999"},
    }
    created = shop.data(FULFILL, {"fulfillment": fulfillment})["fulfillmentCreate"]
    assert created["userErrors"] == []
    assert created["fulfillment"]["status"] == "SUCCESS"
    assert created["fulfillment"]["trackingInfo"] == [
        {"company": "UPS", "number": "1Z999", "url": "https://ups.example/1Z999"}
    ]
    data = shop.data(ORDER, {"id": order["id"]})["order"]
    assert data["displayFulfillmentStatus"] == "FULFILLED" and data["updatedAt"] == "2026-10-01T12:00:10Z"
    assert shop.level("SHOE-41") == {"available": 3, "committed": 0, "on_hand": 3}
    again = shop.data(FULFILL, {"fulfillment": fulfillment})["fulfillmentCreate"]
    assert again["fulfillment"] is None
    assert "unfulfillable status= closed" in again["userErrors"][0]["message"]


def test_shopper_places_orders_and_moves_stock_to_committed_reproducibly(shop: Shop, tmp_path) -> None:
    before = {sku: shop.level(sku) for sku in ("SHOE-40", "SHOE-41", "HAT-1")}
    result = shop.admin("POST", "/shopper/step", {"seed": 7, "steps": 6, "cancel_rate": 0, "refund_rate": 0})
    assert result["stats"]["orders"] == 6
    sold = 0
    for sku, level in before.items():
        after = shop.level(sku)
        assert after["available"] >= 0
        assert after["on_hand"] == level["on_hand"]  # nothing shipped: sold units sit in committed
        assert level["available"] - after["available"] == after["committed"]
        sold += after["committed"]
    orders = shop.admin("GET", "/orders")["orders"]
    assert sold == sum(line["quantity"] for order in orders for line in order["lines"])
    assert "POSTER-1" not in {
        line["sku"] for order in orders for line in order["lines"]
    }  # archived: not for sale
    shop.admin("POST", "/reset")
    shop.admin("POST", "/seed", CATALOG)
    replay = shop.admin("POST", "/shopper/step", {"seed": 7, "steps": 6, "cancel_rate": 0, "refund_rate": 0})
    replayed = shop.admin("GET", "/orders")["orders"]
    assert [[line["quantity"] for line in o["lines"]] for o in replayed] == [
        [line["quantity"] for line in o["lines"]] for o in orders
    ]
    assert replay["stats"] == result["stats"]


def test_the_inventory_history_shows_each_change_of_a_level_with_what_made_it(shop: Shop) -> None:
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 3}]})
    shop.clock.advance(30)
    shop.admin("POST", f"/orders/{order['id'].rsplit('/', 1)[1]}/cancel", {"reason": "INVENTORY"})
    changes = shop.admin("GET", "/inventory/history?sku=SHOE-40")["changes"]
    main = [c for c in changes if c["location"] == "Main Warehouse"]
    assert [(c["deltas"].get("available"), c["available"]) for c in main] == [(-3, 7), (3, 10)]
    assert [c["at"] for c in main] == ["2026-10-01T12:00:00+00:00", "2026-10-01T12:00:30+00:00"]
    assert main[0]["by"] != main[1]["by"], "the sale and the cancellation's restock are told apart"
    assert main[-1]["available"] == shop.level("SHOE-40")["available"]
    assert shop.admin("GET", "/inventory/history?sku=HAT-1")["changes"] == [], "HAT-1 was only seeded"


def test_the_chaos_audit_gives_each_level_off_with_its_history(shop: Shop) -> None:
    from sandbox.chaos import level_histories

    shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 3}]})
    off = [{"sku": "SHOE-40", "location": "Main Warehouse", "store": 7, "desired": 6},
           {"sku": "NO-SUCH-SKU", "location": "Main Warehouse", "store": 1, "desired": 0}]
    found = level_histories(shop, off)
    assert [level["sku"] for level in found] == ["SHOE-40", "NO-SUCH-SKU"]
    assert [(c["deltas"], c["available"]) for c in found[0]["history"]] == [({"available": -3, "committed": 3}, 7)]
    assert found[1]["history"].startswith("not read: "), "a sample that cannot be read does not stop the audit"


def test_the_admin_variants_route_lists_every_variant_with_its_status_and_availability(shop: Shop) -> None:
    shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 2}]})
    listed = shop.admin("GET", "/variants")["variants"]
    assert sorted(v["sku"] for v in listed) == ["HAT-1", "POSTER-1", "SHOE-40", "SHOE-41"]
    by_sku = {v["sku"]: v for v in listed}
    assert {sku: v["status"] for sku, v in by_sku.items()} == {
        "HAT-1": "ACTIVE", "POSTER-1": "ARCHIVED", "SHOE-40": "ACTIVE", "SHOE-41": "ACTIVE"}
    assert by_sku["HAT-1"]["available"]["Main Warehouse"] == 3
    assert sum(by_sku["SHOE-40"]["available"].values()) == 12 - 2  # the order's units are committed
    for sku, variant in by_sku.items():  # the same figures as the per-SKU route
        levels = shop.admin("GET", f"/inventory?sku={sku}")["levels"]
        assert variant["available"] == {location: q["available"] for location, q in levels.items()}
