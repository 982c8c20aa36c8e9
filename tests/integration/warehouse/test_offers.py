"""Each store is its own ERP web shop: the products staged once, with how every further web shop offers
them (``stg_offer``), give each store its own assortment and prices, on both engines. Expected values are
written out here from the payloads, not computed by the product's code."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from erpsync.common.window import Window
from erpsync.sync.catalog.desired import desired_products
from erpsync.sync.catalog.stage import stage_products
from erpsync.sync.landing import land
from erpsync.warehouse import db
from erpsync.warehouse.schema import quarantine, stg_offer

NOW = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
OUTLET = "Outlet Shop"


def product(erp_id: int, sku: str, template: int, *, price: str, listed: bool = True, offers=(),
            updated: dt.datetime = NOW - dt.timedelta(hours=1)) -> dict:
    return {
        "erp_product_id": erp_id, "sku": sku, "template_id": template, "template_code": sku.rsplit("-", 1)[0],
        "title": f"Template {template}", "description": None, "active": True, "salable": True,
        "list_price": "50.00", "sale_price": price, "currency": "USD", "unit": "u",
        "updated_at": updated.isoformat(), "categories": [], "image_urls": [], "image_version": "",
        "in_web_shop": listed,
        "offers": [{"web_shop": shop, "listed": on, "sale_price": at, "currency": "USD"} for shop, on, at in offers],
    }


def stage(engine, payloads: list[dict], now: dt.datetime = NOW):
    extracted = land(engine, "erp", "product", iter([[db.RawRow(p["sku"], p) for p in payloads]]),
                     window=Window(None, now), run_id="test", now=now)
    return stage_products(engine, batch_id=extracted.batch_id, currency="USD", run_id="test", now=now,
                          cursor_at=now, publish_to=["shop", "outlet"])


def offered(engine, web_shop: str | None) -> dict[str, Decimal]:
    """SKU -> price of what the store of ``web_shop`` sells (None: erp_default's web shop)."""
    with engine.connect() as conn:
        return {v.sku: v.price for p in desired_products(conn, None, web_shop=web_shop) for v in p.active_variants}


def test_each_web_shop_gets_its_own_assortment_and_prices_and_an_unlisting_touches_only_its_own(warehouse):
    result = stage(warehouse, [
        product(1, "TEE-1-S", 10, price="20.00", offers=[(OUTLET, True, "16.00")]),
        product(2, "TEE-1-M", 10, price="20.00", offers=[(OUTLET, False, "16.00")]),
        product(3, "CAP-2-U", 20, price="12.00", listed=False, offers=[(OUTLET, True, "9.50")]),
        product(4, "BAG-3-U", 30, price="40.00"),  # staged before the outlet was asked about it
    ])
    assert (result.staged, result.quarantined) == (4, 0), result.as_counts()

    assert offered(warehouse, None) == {"TEE-1-S": Decimal("20.00"), "TEE-1-M": Decimal("20.00"),
                                        "BAG-3-U": Decimal("40.00")}
    assert offered(warehouse, OUTLET) == {"TEE-1-S": Decimal("16.00"), "CAP-2-U": Decimal("9.50")}
    assert offered(warehouse, "Another Shop") == {}, "a web shop nothing was staged for sells nothing"

    # The outlet takes TEE-1-S off its web shop (a newer read of the variant): only the outlet loses it.
    later = NOW + dt.timedelta(minutes=1)
    stage(warehouse, [product(1, "TEE-1-S", 10, price="20.00", offers=[(OUTLET, False, "16.00")])], later)
    assert offered(warehouse, OUTLET) == {"CAP-2-U": Decimal("9.50")}
    assert "TEE-1-S" in offered(warehouse, None)
    with warehouse.connect() as conn:
        assert sorted(conn.execute(select(stg_offer.c.sku, stg_offer.c.listed)
                                   .where(stg_offer.c.web_shop == OUTLET)).all()) == [
            ("CAP-2-U", True), ("TEE-1-M", False), ("TEE-1-S", False)]

    # An older read of it arriving late changes nothing (the offer keeps its newest version).
    stage(warehouse, [product(1, "TEE-1-S", 10, price="20.00", offers=[(OUTLET, True, "16.00")],
                              updated=NOW - dt.timedelta(hours=2))], later + dt.timedelta(minutes=1))
    assert offered(warehouse, OUTLET) == {"CAP-2-U": Decimal("9.50")}


def test_a_zero_price_in_another_web_shops_price_list_is_quarantined_with_its_reason(warehouse):
    result = stage(warehouse, [
        product(5, "SOCK-4-U", 40, price="8.00", offers=[(OUTLET, True, "0")]),
        product(6, "SOCK-5-U", 50, price="8.00", offers=[(OUTLET, False, "0")]),  # not listed there: no matter
        product(7, "SOCK-6-U", 60, price="8.00", offers=[(OUTLET, True, "7.00")]),
    ])
    assert (result.staged, result.quarantined) == (2, 1), result.as_counts()
    with warehouse.connect() as conn:
        held = conn.execute(select(quarantine.c.record_key, quarantine.c.failed_expectations, quarantine.c.reason)
                            .where(quarantine.c.status == "open")).all()
    assert [row.record_key for row in held] == ["SOCK-4-U"]
    assert "offer_price_positive" in str(held[0].failed_expectations), held
    assert "fix that web shop's price list" in held[0].reason
    assert offered(warehouse, OUTLET) == {"SOCK-6-U": Decimal("7.00")}
