"""Which store orders the availability still holds back, on both engines: each order line is compared
with the ERP's read of its own SKU, and held back only at the location the store took it from."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from erpsync.sync.catalog.config import CatalogConfig
from erpsync.sync.catalog.desired import desired_availability, pending_quantities
from erpsync.warehouse import db
from erpsync.warehouse.schema import order_adjustment, order_ledger, stg_order, stg_order_line, stg_stock_level

T0 = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
STORE = "test-store"
MAPPING = {"North": ["N"], "South": ["S"]}


def stock(conn, sku: str, read_at: dt.datetime, quantity: int = 10) -> None:
    db.upsert(conn, stg_stock_level, [
        {"sku": sku, "warehouse_code": code, "erp_product_id": 1, "erp_warehouse_id": 1, "quantity": quantity,
         "forecast_quantity": quantity, "as_of": read_at, "batch_id": "b", "staged_at": read_at}
        for code in ("N", "S")])


def order(conn, number: int, sku: str, quantity: int, *, location: str | None,
          confirmed_at: dt.datetime | None = None, store: str = STORE, cancelled: bool = False) -> None:
    order_id = f"gid://shopify/Order/{number}"
    db.upsert(conn, stg_order, [{
        "store": store, "cancelled_at": T0 if cancelled else None, "store_order_id": order_id, "order_name": f"#{number}", "store_created_at": T0,
        "store_updated_at": T0, "currency": "USD", "subtotal": 0, "discount_total": 0, "shipping_total": 0,
        "tax_total": 0, "total": 0, "refunded_total": 0, "requires_shipping": True, "store_location": location,
        "batch_id": "b", "staged_at": T0}])
    db.upsert(conn, stg_order_line, [{
        "store": store, "store_order_id": order_id, "store_line_id": f"{order_id}/1", "sku": sku,
        "quantity": quantity, "current_quantity": quantity, "unit_price": 1, "discount_total": 0, "tax_total": 0,
        "requires_shipping": True, "batch_id": "b", "staged_at": T0}])
    if confirmed_at is not None:
        conn.execute(order_ledger.insert().values(
            store=store, store_order_id=order_id, state="confirmed", erp_sale_id=number, attempts=1,
            erp_confirmed_at=confirmed_at, created_at=T0, updated_at=T0))


def test_an_order_counted_by_its_own_skus_read_is_not_held_back_because_another_sku_is_old(warehouse):
    minute = dt.timedelta(minutes=1)
    with warehouse.begin() as conn:
        stock(conn, "OLD", T0)  # read long ago, never since: nothing moved
        stock(conn, "NEW", T0 + 10 * minute)  # read after its sale was confirmed
        order(conn, 1, "OLD", 1, location="North")  # sold OLD and never booked: pending
        order(conn, 2, "NEW", 2, location="North", confirmed_at=T0 + 5 * minute)  # counted by NEW's read
        order(conn, 3, "NEW", 3, location="South", confirmed_at=T0 + 20 * minute)  # after NEW's read: pending
        order(conn, 4, "NEW", 4, location=None)  # not booked, its location unknown: held back everywhere

    with warehouse.connect() as conn:
        pending = pending_quantities(conn, STORE, ["OLD", "NEW"])
        levels = desired_availability(conn, ["OLD", "NEW"], mapping=MAPPING, config=CatalogConfig(), pending=pending)

    assert pending == {("OLD", "North"): Decimal(1), ("NEW", "South"): Decimal(3), ("NEW", None): Decimal(4)}
    assert levels == {("OLD", "North"): 9, ("OLD", "South"): 10, ("NEW", "North"): 10 - 4, ("NEW", "South"): 10 - 3 - 4}


OUTLET = "outlet-store"


def test_every_stores_pending_orders_are_held_back_for_every_store(warehouse):
    """Availability is shared: units sold by one store and not yet counted by the ERP are held back from
    every other store too: at the location of the same name (one mapping names every store's locations),
    everywhere when the name is not one the mapping knows; a cancelled order, or one the ERP's read
    counts, holds back nothing anywhere."""
    minute = dt.timedelta(minutes=1)
    with warehouse.begin() as conn:
        stock(conn, "SKU", T0 + 10 * minute)
        order(conn, 1, "SKU", 2, location="North")  # this store's, at North
        order(conn, 1, "SKU", 3, location="North", store=OUTLET)  # same id in the other store: its own order
        order(conn, 2, "SKU", 1, location="Main", store=OUTLET)  # a location name the mapping does not know
        order(conn, 3, "SKU", 4, location=None, store=OUTLET, cancelled=True)
        order(conn, 4, "SKU", 5, location="South", store=OUTLET, confirmed_at=T0 + 5 * minute)  # counted by the read

    with warehouse.connect() as conn:
        for_this = pending_quantities(conn, STORE, ["SKU"])
        for_outlet = pending_quantities(conn, OUTLET, ["SKU"])
        levels = desired_availability(conn, ["SKU"], mapping=MAPPING, config=CatalogConfig(), pending=for_this)

    assert for_this == for_outlet == {("SKU", "North"): Decimal(2 + 3), ("SKU", "Main"): Decimal(1)}
    assert levels == {("SKU", "North"): 10 - 5 - 1, ("SKU", "South"): 10 - 1}


def later(conn, number: int, sku: str, *, confirmed_at: dt.datetime, location: str | None = "North",
          edits=(), returns=(), adjustments=(), fulfillment: str | None = "UNFULFILLED",
          lines: dict[str, int] | None = None) -> None:
    """An order the ERP counts (its own sale of 1 ``sku``) whose store edits or returns committed more to the
    lines ``lines`` (line suffix -> current units, all of ``sku``); ``adjustments``: (kind, ref, counted at)."""
    order(conn, number, sku, 1, location=location, confirmed_at=confirmed_at)
    order_id = f"gid://shopify/Order/{number}"
    conn.execute(stg_order.update().where(stg_order.c.store_order_id == order_id).values(
        edits=list(edits), returns=list(returns), fulfillment_status=fulfillment))
    db.upsert(conn, stg_order_line, [{
        "store": STORE, "store_order_id": order_id, "store_line_id": f"{order_id}/{suffix}", "sku": sku,
        "quantity": units, "current_quantity": units, "unit_price": 1, "discount_total": 0, "tax_total": 0,
        "requires_shipping": True, "batch_id": "b", "staged_at": T0} for suffix, units in (lines or {}).items()])
    for kind, ref, counted_at in adjustments:
        conn.execute(order_adjustment.insert().values(
            store=STORE, store_order_id=order_id, kind=kind, store_ref=ref, state="applied" if counted_at else
            "not_possible", erp_counted_at=counted_at, created_at=T0, updated_at=T0))


def added(number: int, edit_id: str, units: int, suffix: str = "2") -> dict:
    return {"edit_id": edit_id, "happened_at": T0.isoformat(),
            "lines": [{"line_id": f"gid://shopify/Order/{number}/{suffix}", "quantity": units, "added": True}]}


def test_the_units_an_edit_or_exchange_added_are_held_back_until_a_read_counts_them(warehouse):
    """Orders the ERP counts (their own sale confirmed before the read of T0 + 10 min): the units their later
    edits and exchanges committed are held back while no read counts the change, at the order's location,
    and only while the store holds them (not cancelled, not all fulfilled)."""
    minute = dt.timedelta(minutes=1)
    read, counted = T0 + 10 * minute, T0 + 5 * minute
    with warehouse.begin() as conn:
        stock(conn, "EDIT", read)
        later(conn, 11, "EDIT", confirmed_at=counted, edits=[added(11, "e1", 2)], lines={"2": 2})  # not applied: 2
        later(conn, 12, "EDIT", confirmed_at=counted, edits=[added(12, "e1", 3)], lines={"2": 3},
              adjustments=[("edit", "e1", T0 + 6 * minute)])  # counted before the read: 0
        later(conn, 13, "EDIT", confirmed_at=counted, edits=[added(13, "e1", 4)], lines={"2": 4},
              adjustments=[("edit", "e1", T0 + 11 * minute)], location="South")  # counted after the read: 4
        later(conn, 14, "EDIT", confirmed_at=counted, edits=[added(14, "e1", 5)], lines={"2": 5},
              adjustments=[("edit", "e1", None)], location=None)  # not possible: 5, everywhere
        later(conn, 15, "EDIT", confirmed_at=counted, edits=[added(15, "e1", 6)], lines={"2": 6},
              fulfillment="FULFILLED")  # the store holds none of it any more: 0
        later(conn, 16, "EDIT", confirmed_at=counted, lines={"9": 7}, returns=[{
            "return_id": "r1", "happened_at": T0.isoformat(), "returned": [],
            "exchanged": [{"line_id": "gid://shopify/Order/16/9", "quantity": 7}]}])  # an exchange: 7
        later(conn, 17, "EDIT", confirmed_at=T0 + 20 * minute, edits=[added(17, "e1", 8)], lines={"2": 8})
        # ^ its own sale not counted by the read: held back whole (1 + 8) by the order's own rule

    with warehouse.connect() as conn:
        pending = pending_quantities(conn, STORE, ["EDIT"])
        levels = desired_availability(conn, ["EDIT"], mapping=MAPPING, config=CatalogConfig(), pending=pending)

    assert pending == {("EDIT", "North"): Decimal(2 + 7 + 1 + 8), ("EDIT", "South"): Decimal(4),
                       ("EDIT", None): Decimal(5)}
    assert levels == {("EDIT", "North"): max(0, 10 - 18 - 5), ("EDIT", "South"): 10 - 4 - 5}
