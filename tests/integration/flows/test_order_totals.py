"""Totals to the cent: a table of orders mixing line discounts, a percentage code, shipping discounts, one or
two tax lines, taxes added to or included in the prices, each booked by the order flow into the real ERP.
Every expected total is worked out by hand below (Shopify's rules: discounts and each tax rounded half
up to the cent per line; an included tax is price x rate / (1 + all rates)), never by the product's code.
The ERP's total must be the store's, to the cent, and the store's must be the hand-worked one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erpsync.store.records import PriceChange
from tests.integration.flows.test_order_steps import in_stock, place

pytestmark = pytest.mark.erp

# (case, prices of the two SKUs X and Y, the order's lines (X or Y, units, line discount), the rest of the
# order, its total worked out by hand, the included tax (the ERP sale's comment says it) or None).
CASES = [
    # X 3 x 9.99 = 29.97, 15% code: 4.4955 -> 4.50, 25.47. Y 25.00 - 2.00 line discount = 23.00, 15%: 3.45,
    # 19.55. Subtotal 45.02. Shipping 7.50 - 2.00 = 5.50. State 6.25%: 1.591875 -> 1.59, 1.221875 -> 1.22,
    # shipping 0.34375 -> 0.34 (3.15); county 1.75%: 0.445725 -> 0.45, 0.342125 -> 0.34, 0.09625 -> 0.10
    # (0.89). Total 45.02 + 5.50 + 3.15 + 0.89 = 54.56.
    ("two taxes on top, code, line and shipping discounts", ("9.99", "25.00"),
     [("X", 3, None), ("Y", 1, "2.00")],
     {"discount_code": "SAVE15", "discount_percentage": "15", "shipping_price": "7.50",
      "shipping_discount": {"title": "Loyalty shipping", "amount": "2.00"},
      "tax_lines": [{"title": "State tax", "rate": "0.0625"}, {"title": "County tax", "rate": "0.0175"}]},
     "54.56", None),
    # X 29.97 - 4.50 = 25.47, Y 25.00 - 3.75 = 21.25: 46.72, shipping 6.00 free: 46.72, taxes in it.
    # GST 5%: 25.47 x .05 / 1.12 = 1.137 -> 1.14, 21.25 x .05 / 1.12 = 0.949 -> 0.95; PST 7%: 1.592 -> 1.59,
    # 1.328 -> 1.33. Included tax 5.01.
    ("two taxes included, code, free shipping", ("9.99", "25.00"),
     [("X", 3, None), ("Y", 1, None)],
     {"discount_code": "SAVE15", "discount_percentage": "15", "shipping_price": "6.00",
      "taxes_included": True,
      "shipping_discount": {"code": "FREESHIP", "percentage": "100"},
      "tax_lines": [{"title": "GST", "rate": "0.05"}, {"title": "PST", "rate": "0.07"}]},
     "46.72", "5.01"),
    # X 2 x 11.90 = 23.80, 10%: 2.38, 21.42; shipping 4.90 - 0.90 = 4.00. Total 25.42, VAT 19% in it:
    # 21.42 x .19 / 1.19 = 3.42, 4.00 x .19 / 1.19 = 0.639 -> 0.64: 4.06.
    ("one tax included, code, shipping discount", ("11.90", "1.00"),
     [("X", 2, None)],
     {"discount_code": "TEN", "discount_percentage": "10", "shipping_price": "4.90", "taxes_included": True,
      "shipping_discount": {"title": "Shipping promo", "amount": "0.90"}, "tax_rate": "0.19"},
     "25.42", "4.06"),
    # X 3 x 3.33 = 9.99 - 1.00 = 8.99; 8.875%: 0.7978625 -> 0.80; nothing shipped is charged. 9.79.
    ("a line discount and an odd rate", ("3.33", "1.00"),
     [("X", 3, "1.00")], {"tax_rate": "0.08875"}, "9.79", None),
    # X 2 x 12.50 + Y 1 x 0.99 = 25.99; 8%: 2.00 and 0.0792 -> 0.08, shipping 5.00: 0.40. 25.99 + 5.00 +
    # 2.48 = 33.47.
    ("a plain order with shipping and one tax", ("12.50", "0.99"),
     [("X", 2, None), ("Y", 1, None)], {"shipping_price": "5.00", "tax_rate": "0.08"}, "33.47", None),
]


def set_prices(shop, prices: dict[str, str]) -> None:
    variants = {v.sku: v for page in shop.iter_variants(skus=list(prices)) for v in page}
    for sku, price in prices.items():
        outcomes = shop.update_prices(variants[sku].product_id,
                                      [PriceChange(variants[sku].variant_id, Decimal(price), None)])
        assert all(o.applied for o in outcomes), outcomes


def test_each_order_is_booked_at_the_store_total_worked_out_by_hand(order_steps, store, shop, admin):
    x, y = in_stock(shop, 2, at_least=10)
    placed = []
    for case, (price_x, price_y), lines, rest, _total, _included in CASES:
        set_prices(shop, {x: price_x, y: price_y})
        sku = {"X": x, "Y": y}
        order = place(store, [{"sku": sku[name], "quantity": units, **({"discount": off} if off else {})}
                              for name, units, off in lines], email="totals@example.com", **rest)
        placed.append((case, order))
    booked = order_steps.run()["ingest"]
    assert (booked.created, booked.confirmed) == (len(CASES), len(CASES)), booked

    sales = admin.model("sale.sale", "search_read", [("web_id", "in", [o["id"] for _, o in placed])], 0, None,
                        None, ["web_id", "total_amount", "comment", "state"])
    assert len(sales) == len(CASES), "one sale per order"
    by_order = {s["web_id"]: s for s in sales}
    for (case, order), (_, _, _, _, total, included) in zip(placed, CASES, strict=True):
        sale = by_order[order["id"]]
        assert Decimal(order["total"]) == Decimal(total), f"{case}: the store's total"
        assert sale["total_amount"] == Decimal(total), f"{case}: the ERP's total"
        assert sale["state"] == "processing", case
        if included:
            assert f"prices include taxes of {included}" in sale["comment"], case
        else:
            assert "prices include taxes" not in sale["comment"], case
