"""Order money as Shopify computes it: several tax lines per line (each rounded to the cent on its own),
taxes included in prices (the tax contained in the discounted price), shipping discounts (allocated to the
shipping line, in totalDiscountsSet, not in totalShippingPriceSet, the shipping taxed after them), and what
refunds, order edits and the orders webhook make of those orders.

Every expected amount is a literal worked out by hand in the comment above it; rounding is half up, to the
cent, per line and per tax. Prices used: SHOE-40 at 9.99 (set first), HAT-1 at 25.00 (the catalog's).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import Shop
from tests.sandbox.test_shopify_webhooks import Receiver, flush, subscribe

BULK_UPDATE = """mutation($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { sku price } userErrors { field message } } }"""

MONEY = "shopMoney { amount }"
ORDER = f"""query($id: ID!) {{ order(id: $id) {{
  taxesIncluded discountCodes
  subtotalPriceSet {{ {MONEY} }} totalDiscountsSet {{ {MONEY} }} totalShippingPriceSet {{ {MONEY} }}
  totalTaxSet {{ {MONEY} }} totalPriceSet {{ {MONEY} }}
  currentSubtotalPriceSet {{ {MONEY} }} currentTotalDiscountsSet {{ {MONEY} }}
  currentShippingPriceSet {{ {MONEY} }} currentTotalTaxSet {{ {MONEY} }} currentTotalPriceSet {{ {MONEY} }}
  totalRefundedSet {{ {MONEY} }} totalRefundedShippingSet {{ {MONEY} }} totalOutstandingSet {{ {MONEY} }}
  displayFinancialStatus
  taxLines {{ title rate priceSet {{ {MONEY} }} }}
  discountApplications(first: 5) {{ nodes {{ targetType allocationMethod targetSelection
    value {{ ... on PricingPercentageValue {{ percentage }} ... on MoneyV2 {{ amount }} }}
    ... on DiscountCodeApplication {{ code }} ... on ManualDiscountApplication {{ title }} }} }}
  lineItems(first: 5) {{ nodes {{ sku quantity currentQuantity
    originalUnitPriceSet {{ {MONEY} }} discountedUnitPriceSet {{ {MONEY} }} totalDiscountSet {{ {MONEY} }}
    taxLines {{ title rate priceSet {{ {MONEY} }} }} }} }}
  shippingLines(first: 5) {{ nodes {{ title
    originalPriceSet {{ {MONEY} }} discountedPriceSet {{ {MONEY} }} currentDiscountedPriceSet {{ {MONEY} }}
    discountAllocations {{ allocatedAmountSet {{ {MONEY} }} discountApplication {{ targetType }} }}
    taxLines {{ title rate priceSet {{ {MONEY} }} }} }} }}
  refunds {{ totalRefundedSet {{ {MONEY} }}
    refundLineItems(first: 5) {{ nodes {{ quantity
      subtotalSet {{ {MONEY} }} totalTaxSet {{ {MONEY} }} }} }} }}
}} }}"""

AGREEMENTS = f"""query($id: ID!) {{ order(id: $id) {{
  agreements(first: 5) {{ nodes {{ reason sales(first: 5) {{ nodes {{ lineType actionType quantity
    totalAmount {{ {MONEY} }} totalTaxAmount {{ {MONEY} }}
    taxes {{ amount {{ {MONEY} }} taxLine {{ title }} }} }} }} }} }}
}} }}"""


def _m(bag: dict[str, Any]) -> str:
    return bag["shopMoney"]["amount"]


def _taxes(tax_lines: list[dict[str, Any]]) -> list[tuple[str, float, str]]:
    return [(t["title"], t["rate"], _m(t["priceSet"])) for t in tax_lines]


def summary(order: dict[str, Any]) -> dict[str, Any]:
    """The order's money, flattened to compare with literals."""
    fields = ("subtotalPriceSet", "totalDiscountsSet", "totalShippingPriceSet", "totalTaxSet",
              "totalPriceSet",
              "currentSubtotalPriceSet", "currentTotalDiscountsSet", "currentShippingPriceSet",
              "currentTotalTaxSet", "currentTotalPriceSet", "totalRefundedSet", "totalRefundedShippingSet",
              "totalOutstandingSet")
    return {
        "taxesIncluded": order["taxesIncluded"],
        "discountCodes": order["discountCodes"],
        **{name: _m(order[name]) for name in fields},
        "taxLines": _taxes(order["taxLines"]),
        "discountApplications": [
            (a["targetType"], a["allocationMethod"], a["targetSelection"], a.get("code") or a.get("title"),
             a["value"].get("percentage") or a["value"].get("amount"))
            for a in order["discountApplications"]["nodes"]
        ],
        "lines": [
            (line["sku"], _m(line["originalUnitPriceSet"]), _m(line["discountedUnitPriceSet"]),
             _m(line["totalDiscountSet"]), _taxes(line["taxLines"]))
            for line in order["lineItems"]["nodes"]
        ],
        "shipping": [
            (s["title"], _m(s["originalPriceSet"]), _m(s["discountedPriceSet"]),
             _m(s["currentDiscountedPriceSet"]),
             [(_m(a["allocatedAmountSet"]), a["discountApplication"]["targetType"])
              for a in s["discountAllocations"]],
             _taxes(s["taxLines"]))
            for s in order["shippingLines"]["nodes"]
        ],
    }


def set_prices(shop: Shop) -> None:
    """SHOE-40 at 9.99 (a price that makes rounding matter); HAT-1 stays at 25.00."""
    ids = shop.ids("SHOE-40")
    result = shop.data(BULK_UPDATE, {"productId": ids["product"],
                                     "variants": [{"id": ids["variant"], "price": "9.99"}]})
    assert result["productVariantsBulkUpdate"]["userErrors"] == []
    assert shop.admin("GET", "/products?sku=HAT-1")["variants"][0]["price"] == "25.00"


def place(shop: Shop, body: dict[str, Any]) -> tuple[str, str]:
    order = shop.admin("POST", "/orders", body)
    return order["id"], order["id"].rsplit("/", 1)[1]


def read(shop: Shop, order_id: str) -> dict[str, Any]:
    return shop.data(ORDER, {"id": order_id})["order"]


def pick(got: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: got[key] for key in keys}


def sales(shop: Shop, order_id: str, reason: str) -> list[dict[str, Any]]:
    agreements = shop.data(AGREEMENTS, {"id": order_id})["order"]["agreements"]["nodes"]
    return next(a for a in agreements if a["reason"] == reason)["sales"]["nodes"]


# -- the table -------------------------------------------------------------------------------------------

STATE_COUNTY = [{"title": "State tax", "rate": "0.0625"}, {"title": "County tax", "rate": "0.0175"}]
GST_PST = [{"title": "GST", "rate": "0.05"}, {"title": "PST", "rate": "0.07"}]

CASES = {
    # Taxes added, two tax lines, a line discount, a 15% code and 2.00 off the shipping.
    # SHOE-40: 3 x 9.99 = 29.97; 15% of it = 4.4955 -> 4.50; discounted 25.47 (unit 25.47 / 3 = 8.49).
    # HAT-1: 25.00 - 2.00 line discount = 23.00; 15% of 23.00 = 3.45; discounted 19.55; its discounts 5.45.
    # subtotal = 25.47 + 19.55 = 45.02.
    # Taxes: shoe 25.47 x 0.0625 = 1.591875 -> 1.59, 25.47 x 0.0175 = 0.445725 -> 0.45;
    #        hat 19.55 x 0.0625 = 1.221875 -> 1.22, 19.55 x 0.0175 = 0.342125 -> 0.34.
    # Shipping 7.50 - 2.00 = 5.50, taxed after the discount: 5.50 x 0.0625 = 0.34375 -> 0.34,
    #        5.50 x 0.0175 = 0.09625 -> 0.10.
    # tax = 1.59 + 0.45 + 1.22 + 0.34 + 0.34 + 0.10 = 4.04 (State 3.15, County 0.89).
    # discounts = 4.50 + 5.45 + 2.00 (shipping) = 11.95; shipping before its discount 7.50.
    # total = 45.02 + 5.50 + 4.04 = 54.56.
    "taxes added, two rates, manual shipping discount": (
        {"lines": [{"sku": "SHOE-40", "quantity": 3}, {"sku": "HAT-1", "quantity": 1, "discount": "2.00"}],
         "discount_code": "SAVE15", "discount_percentage": "15", "shipping_price": "7.50",
         "shipping_discount": {"title": "Loyalty shipping", "amount": "2.00"}, "tax_lines": STATE_COUNTY},
        {
            "taxesIncluded": False,
            "discountCodes": ["SAVE15"],
            "subtotalPriceSet": "45.02", "totalDiscountsSet": "11.95", "totalShippingPriceSet": "7.5",
            "totalTaxSet": "4.04", "totalPriceSet": "54.56",
            "currentSubtotalPriceSet": "45.02", "currentTotalDiscountsSet": "11.95",
            "currentShippingPriceSet": "5.5", "currentTotalTaxSet": "4.04", "currentTotalPriceSet": "54.56",
            "totalRefundedSet": "0.0", "totalRefundedShippingSet": "0.0", "totalOutstandingSet": "0.0",
            "taxLines": [("State tax", 0.0625, "3.15"), ("County tax", 0.0175, "0.89")],
            "discountApplications": [
                ("LINE_ITEM", "ACROSS", "EXPLICIT", "Line discount", "2.0"),
                ("LINE_ITEM", "ACROSS", "ALL", "SAVE15", 15.0),
                ("SHIPPING_LINE", "EACH", "EXPLICIT", "Loyalty shipping", "2.0"),
            ],
            "lines": [
                ("SHOE-40", "9.99", "8.49", "4.5",
                 [("State tax", 0.0625, "1.59"), ("County tax", 0.0175, "0.45")]),
                ("HAT-1", "25.0", "19.55", "5.45",
                 [("State tax", 0.0625, "1.22"), ("County tax", 0.0175, "0.34")]),
            ],
            "shipping": [("Standard", "7.5", "5.5", "5.5", [("2.0", "SHIPPING_LINE")],
                          [("State tax", 0.0625, "0.34"), ("County tax", 0.0175, "0.1")])],
        },
    ),
    # Taxes included (GST 5% + PST 7%: the divisor is 1.12), a 15% code and a free-shipping code.
    # SHOE-40: 29.97 - 4.50 = 25.47; GST 25.47 x 0.05 / 1.12 = 1.137053.. -> 1.14,
    #          PST 25.47 x 0.07 / 1.12 = 1.591875 -> 1.59.
    # HAT-1: 25.00 - 3.75 (15%) = 21.25; GST 21.25 x 0.05 / 1.12 = 0.948660.. -> 0.95,
    #        PST 21.25 x 0.07 / 1.12 = 1.328125 -> 1.33.
    # Shipping 6.00, 100% off: 0.00, its taxes 0.00 each.
    # subtotal (with the tax in it) = 25.47 + 21.25 = 46.72; tax = 1.14 + 1.59 + 0.95 + 1.33 = 5.01
    # (GST 2.09, PST 2.92); discounts = 4.50 + 3.75 + 6.00 = 14.25; total = 46.72 + 0.00 (tax not added).
    "taxes included, two rates, free-shipping code": (
        {"lines": [{"sku": "SHOE-40", "quantity": 3}, {"sku": "HAT-1", "quantity": 1}],
         "discount_code": "SAVE15", "discount_percentage": "15", "shipping_price": "6.00",
         "shipping_discount": {"code": "FREESHIP", "percentage": "100"}, "tax_lines": GST_PST,
         "taxes_included": True},
        {
            "taxesIncluded": True,
            "discountCodes": ["SAVE15", "FREESHIP"],
            "subtotalPriceSet": "46.72", "totalDiscountsSet": "14.25", "totalShippingPriceSet": "6.0",
            "totalTaxSet": "5.01", "totalPriceSet": "46.72",
            "currentSubtotalPriceSet": "46.72", "currentTotalDiscountsSet": "14.25",
            "currentShippingPriceSet": "0.0", "currentTotalTaxSet": "5.01", "currentTotalPriceSet": "46.72",
            "totalRefundedSet": "0.0", "totalRefundedShippingSet": "0.0", "totalOutstandingSet": "0.0",
            "taxLines": [("GST", 0.05, "2.09"), ("PST", 0.07, "2.92")],
            "discountApplications": [
                ("LINE_ITEM", "ACROSS", "ALL", "SAVE15", 15.0),
                ("SHIPPING_LINE", "EACH", "ALL", "FREESHIP", 100.0),
            ],
            "lines": [
                ("SHOE-40", "9.99", "8.49", "4.5", [("GST", 0.05, "1.14"), ("PST", 0.07, "1.59")]),
                ("HAT-1", "25.0", "21.25", "3.75", [("GST", 0.05, "0.95"), ("PST", 0.07, "1.33")]),
            ],
            "shipping": [("Standard", "6.0", "0.0", "0.0", [("6.0", "SHIPPING_LINE")],
                          [("GST", 0.05, "0.0"), ("PST", 0.07, "0.0")])],
        },
    ),
    # Taxes included through the single tax_rate (VAT 19%: divisor 1.19), 1.00 off the shipping.
    # HAT-1: 2 x 25.00 = 50.00; VAT 50.00 x 0.19 / 1.19 = 7.983193.. -> 7.98.
    # Shipping 5.99 - 1.00 = 4.99; VAT 4.99 x 0.19 / 1.19 = 0.796722.. -> 0.80.
    # subtotal 50.00; tax 7.98 + 0.80 = 8.78; discounts 1.00; shipping 5.99; total 50.00 + 4.99 = 54.99.
    "taxes included, one rate, fixed shipping discount": (
        {"lines": [{"sku": "HAT-1", "quantity": 2}], "shipping_price": "5.99", "tax_rate": "0.19",
         "taxes_included": True, "shipping_discount": {"title": "Shipping promo", "amount": "1.00"}},
        {
            "taxesIncluded": True,
            "discountCodes": [],
            "subtotalPriceSet": "50.0", "totalDiscountsSet": "1.0", "totalShippingPriceSet": "5.99",
            "totalTaxSet": "8.78", "totalPriceSet": "54.99",
            "currentSubtotalPriceSet": "50.0", "currentTotalDiscountsSet": "1.0",
            "currentShippingPriceSet": "4.99", "currentTotalTaxSet": "8.78", "currentTotalPriceSet": "54.99",
            "totalRefundedSet": "0.0", "totalRefundedShippingSet": "0.0", "totalOutstandingSet": "0.0",
            "taxLines": [("Sales Tax", 0.19, "8.78")],
            "discountApplications": [("SHIPPING_LINE", "EACH", "EXPLICIT", "Shipping promo", "1.0")],
            "lines": [("HAT-1", "25.0", "25.0", "0.0", [("Sales Tax", 0.19, "7.98")])],
            "shipping": [("Standard", "5.99", "4.99", "4.99", [("1.0", "SHIPPING_LINE")],
                          [("Sales Tax", 0.19, "0.8")])],
        },
    ),
}


@pytest.mark.parametrize("body, expected", list(CASES.values()), ids=list(CASES))
def test_order_money_matches_the_hand_worked_amounts(shop: Shop, body: dict, expected: dict) -> None:
    set_prices(shop)
    order_id, _number = place(shop, body)
    assert summary(read(shop, order_id)) == expected


# -- refunds, edits, webhooks ------------------------------------------------------------------------------


def test_refund_of_a_tax_included_order_gives_back_prices_with_their_tax_in_them(shop: Shop) -> None:
    set_prices(shop)
    order_id, number = place(shop, CASES["taxes included, two rates, free-shipping code"][0])
    shop.admin("POST", f"/orders/{number}/refund",
               {"lines": [{"sku": "SHOE-40", "quantity": 1}], "shipping": True})
    data = read(shop, order_id)
    # One shoe of three: subtotal 25.47 / 3 = 8.49 (tax in it); its tax (1.14 + 1.59) / 3 = 2.73 / 3 = 0.91.
    # The free shipping gives nothing back. The refund's total is 8.49: the tax is inside, not on top.
    refund = data["refunds"][0]
    assert _m(refund["totalRefundedSet"]) == "8.49"
    line = refund["refundLineItems"]["nodes"][0]
    assert (line["quantity"], _m(line["subtotalSet"]), _m(line["totalTaxSet"])) == (1, "8.49", "0.91")
    got = summary(data)
    # current subtotal 46.72 - 8.49 = 38.23; current tax 5.01 - 0.91 = 4.10; current total 38.23 + 0.00;
    # current discounts: shoe 4.50 x 2/3 = 3.00, hat 3.75, shipping 6.00 = 12.75.
    assert pick(got, "currentSubtotalPriceSet", "currentTotalTaxSet", "currentTotalPriceSet",
                "currentTotalDiscountsSet", "totalRefundedSet", "totalRefundedShippingSet",
                "currentShippingPriceSet") == {
        "currentSubtotalPriceSet": "38.23", "currentTotalTaxSet": "4.1", "currentTotalPriceSet": "38.23",
        "currentTotalDiscountsSet": "12.75", "totalRefundedSet": "8.49", "totalRefundedShippingSet": "0.0",
        "currentShippingPriceSet": "0.0"}
    assert data["displayFinancialStatus"] == "PARTIALLY_REFUNDED"


def test_refunding_discounted_included_shipping_gives_back_what_was_paid_for_it(shop: Shop) -> None:
    set_prices(shop)
    order_id, number = place(shop, CASES["taxes included, one rate, fixed shipping discount"][0])
    shop.admin("POST", f"/orders/{number}/refund",
               {"lines": [{"sku": "HAT-1", "quantity": 1}], "shipping": True})
    data = read(shop, order_id)
    # One hat of two: 50.00 / 2 = 25.00, its VAT 7.98 / 2 = 3.99; shipping back as paid: 4.99 (VAT 0.80
    # in it).
    # refund = 25.00 + 4.99 = 29.99 (taxes inside). current: subtotal 25.00, tax 8.78 - 3.99 - 0.80 = 3.99,
    # shipping 4.99 - 4.99 = 0.00, total 25.00 + 0.00 = 25.00.
    got = summary(data)
    assert pick(got, "totalRefundedSet", "totalRefundedShippingSet", "currentSubtotalPriceSet",
                "currentTotalTaxSet", "currentShippingPriceSet", "currentTotalPriceSet") == {
        "totalRefundedSet": "29.99", "totalRefundedShippingSet": "4.99", "currentSubtotalPriceSet": "25.0",
        "currentTotalTaxSet": "3.99", "currentShippingPriceSet": "0.0", "currentTotalPriceSet": "25.0"}
    assert got["shipping"][0][3] == "0.0"  # currentDiscountedPriceSet: 4.99 paid, 4.99 refunded
    assert data["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    line = data["refunds"][0]["refundLineItems"]["nodes"][0]
    assert (_m(line["subtotalSet"]), _m(line["totalTaxSet"])) == ("25.0", "3.99")
    # The refund's agreement: the hat's RETURN sale is -25.00 with -3.99 of tax in it; shipping -4.99 / -0.80.
    returned = sales(shop, order_id, "REFUND")
    assert [(s["lineType"], _m(s["totalAmount"]), _m(s["totalTaxAmount"])) for s in returned] == [
        ("PRODUCT", "-25.0", "-3.99"), ("SHIPPING", "-4.99", "-0.8")]


def test_edit_of_a_tax_included_order_prices_new_units_with_their_tax_in_them(shop: Shop) -> None:
    set_prices(shop)
    order_id, number = place(shop, {"lines": [{"sku": "SHOE-40", "quantity": 3}], "tax_lines": GST_PST,
                                    "taxes_included": True})
    # Placed: 29.97; GST 29.97 x 0.05 / 1.12 = 1.337946.. -> 1.34; PST 29.97 x 0.07 / 1.12 = 1.873125 -> 1.87.
    placed = summary(read(shop, order_id))
    assert (placed["totalPriceSet"], placed["totalTaxSet"], placed["lines"][0][4]) == (
        "29.97", "3.21", [("GST", 0.05, "1.34"), ("PST", 0.07, "1.87")])
    lines = shop.data("""query($id: ID!) { order(id: $id) { lineItems(first: 5) { nodes { id } } } }""",
                      {"id": order_id})["order"]["lineItems"]["nodes"]
    edited = shop.admin("POST", f"/orders/{number}/edit", {
        "set": [{"line_item_id": lines[0]["id"], "quantity": 4}], "add": [{"sku": "HAT-1", "quantity": 1}]})
    assert edited["total"] == "64.96"
    data = read(shop, order_id)
    # One more shoe, 9.99: GST 0.4995 / 1.12 = 0.44598.. -> 0.45; PST 0.6993 / 1.12 = 0.624375 -> 0.62;
    #   the shoe's tax lines become 1.34 + 0.45 = 1.79 and 1.87 + 0.62 = 2.49.
    # A hat, 25.00: GST 1.25 / 1.12 = 1.116071.. -> 1.12; PST 1.75 / 1.12 = 1.5625 -> 1.56.
    # subtotal 29.97 + 9.99 + 25.00 = 64.96 = total (tax inside); tax 1.79 + 2.49 + 1.12 + 1.56 = 6.96
    # (GST 2.91, PST 4.05); outstanding 64.96 - 29.97 paid = 34.99.
    got = summary(data)
    assert pick(got, "subtotalPriceSet", "totalTaxSet", "totalPriceSet", "currentTotalPriceSet",
                "totalOutstandingSet", "taxLines", "lines") == {
        "subtotalPriceSet": "64.96", "totalTaxSet": "6.96", "totalPriceSet": "64.96",
        "currentTotalPriceSet": "64.96", "totalOutstandingSet": "34.99",
        "taxLines": [("GST", 0.05, "2.91"), ("PST", 0.07, "4.05")],
        "lines": [("SHOE-40", "9.99", "9.99", "0.0", [("GST", 0.05, "1.79"), ("PST", 0.07, "2.49")]),
                  ("HAT-1", "25.0", "25.0", "0.0", [("GST", 0.05, "1.12"), ("PST", 0.07, "1.56")])]}
    # The edit's sales: the shoe 9.99 with 1.07 of tax in it (0.45 + 0.62), the hat 25.00 with 2.68
    # (1.12 + 1.56).
    assert [(_m(s["totalAmount"]), _m(s["totalTaxAmount"]),
             [(t["taxLine"]["title"], _m(t["amount"])) for t in s["taxes"]])
            for s in sales(shop, order_id, "ORDER_EDIT")] == [
        ("9.99", "1.07", [("GST", "0.45"), ("PST", "0.62")]),
        ("25.0", "2.68", [("GST", "1.12"), ("PST", "1.56")])]


def test_orders_create_webhook_carries_the_same_money(shop: Shop) -> None:
    set_prices(shop)
    receiver = Receiver()
    try:
        assert subscribe(shop, "ORDERS_CREATE", receiver.uri())["userErrors"] == []
        place(shop, CASES["taxes included, two rates, free-shipping code"][0])
        flush(shop)
        assert len(receiver.received) == 1
        body = receiver.received[0].payload
    finally:
        receiver.close()
    # The amounts of the second case above (see its working).
    assert {k: body[k] for k in ("taxes_included", "subtotal_price", "total_discounts", "total_tax",
                                 "total_price", "total_line_items_price")} == {
        "taxes_included": True, "subtotal_price": "46.72", "total_discounts": "14.25", "total_tax": "5.01",
        "total_price": "46.72", "total_line_items_price": "54.97"}  # 29.97 + 25.00 before discounts
    assert body["total_shipping_price_set"]["shop_money"]["amount"] == "6.00"
    assert body["current_shipping_price_set"]["shop_money"]["amount"] == "0.00"
    # SAVE15 took 4.50 + 3.75 = 8.25 off the lines, FREESHIP the 6.00 of shipping.
    assert body["discount_codes"] == [{"code": "SAVE15", "amount": "8.25", "type": "percentage"},
                                      {"code": "FREESHIP", "amount": "6.00", "type": "shipping"}]
    assert [(t["title"], t["price"]) for t in body["tax_lines"]] == [("GST", "2.09"), ("PST", "2.92")]
    assert [[t["price"] for t in line["tax_lines"]] for line in body["line_items"]] == [["1.14", "1.59"],
                                                                                         ["0.95", "1.33"]]
    shipping = body["shipping_lines"][0]
    assert (shipping["price"], shipping["discounted_price"],
            [a["amount"] for a in shipping["discount_allocations"]],
            [t["price"] for t in shipping["tax_lines"]]) == ("6.00", "0.00", ["6.00"], ["0.00", "0.00"])


def test_bad_shipping_discounts_and_tax_lines_are_refused(shop: Shop) -> None:
    base = {"lines": [{"sku": "HAT-1", "quantity": 1}], "shipping_price": "5.00"}
    both = shop.admin("POST", "/orders", {**base, "shipping_discount": {"code": "X", "percentage": "10",
                                                                         "amount": "1.00"}}, expect=400)
    assert "shipping_discount" in both["error"]
    shop.admin("POST", "/orders", {**base, "shipping_discount": {"code": "X", "percentage": "150"}},
               expect=400)
    shop.admin("POST", "/orders", {**base, "tax_lines": [{"title": "T", "rate": "-0.1"}]}, expect=400)
    # Nothing was placed: the hat's 3 units are all still available.
    assert shop.level("HAT-1")["available"] == 3
