"""Returns and exchanges (Shopify's Returns API in the store emulator) against the real ERP and both
warehouse engines: a return is booked once (a run killed after booking it books nothing twice), its
restocked goods go back into the warehouse of the location the store restocked them at, the exchange
items are a sale of their own that the store is told of when the ERP ships it, and the money moves once:
all the order's ERP sales total what the customer paid, less what the store gave back. The expected
figures are the store's own (what it charged and gave back), not the product's formulas."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.schema import order_adjustment
from tests.integration.flows.test_order_edits import goods
from tests.integration.flows.test_order_steps import in_stock, number, place, ship
from tests.support.flows import run_killed_after

pytestmark = pytest.mark.erp


def sales_of(admin: TrytonClient, order_id: str) -> list[dict]:
    """Every ERP sale of the order (its own, its returns', exchanges' and refunds'), as a list: one booked
    twice shows twice."""
    return admin.model("sale.sale", "search_read", ["OR", ("web_id", "=", order_id),
                                                     ("web_id", "like", f"{order_id}#%")],
                       0, None, [("id", "ASC")], ["web_id", "state", "lines", "total_amount", "warehouse",
                                                  "shipments", "shipment_returns"])


def erp_total(admin: TrytonClient, order_id: str) -> Decimal:
    return sum((sale["total_amount"] for sale in sales_of(admin, order_id)), Decimal(0))


def store_order(store, order: dict) -> dict:
    (summary,) = [o for o in store.admin("GET", "/orders?limit=100")["orders"] if o["id"] == order["id"]]
    return summary


def give_back(store, order: dict, sku: str, units: int, *, exchange: list[tuple[str, int]] = (),
              dispose: str | None = "RESTOCKED", location_id=None) -> dict:
    """Return ``units`` of the order's ``sku`` line in the store, as a merchant does in its admin."""
    lines = {line["sku"]: line["id"] for line in order["lines"]}
    return store.admin("POST", f"/orders/{number(order)}/return", {
        "lines": [{"line_item_id": lines[sku], "quantity": units}],
        "exchange": [{"sku": s, "quantity": q} for s, q in exchange],
        "refund": True, "dispose": dispose, "location_id": location_id, "close": dispose is not None,
    })


def adjustments(warehouse, order_id: str) -> list[tuple[str, str]]:
    with warehouse.connect() as conn:
        return sorted(conn.execute(select(order_adjustment.c.kind, order_adjustment.c.state).where(
            order_adjustment.c.store_order_id == order_id)).all())


def on_hand(admin: TrytonClient, sku: str) -> dict[int, float]:
    """ERP warehouse id -> units of ``sku`` on hand there."""
    (product,) = admin.model("product.product", "search", [("code", "=", sku)])
    return {w.id: admin.model("product.product", "read", [product], ["quantity"],
                              context={"locations": [w.id]})[0]["quantity"] for w in admin.web_shop.warehouses}


def receive(admin: TrytonClient, sale: dict) -> None:
    """The warehouse receives the customer's return shipment of a sale, as Tryton's staff do."""
    assert sale["shipment_returns"], f"sale {sale['web_id']} has no return shipment"
    admin.model("stock.shipment.out.return", "receive", sale["shipment_returns"])
    admin.model("stock.shipment.out.return", "do", sale["shipment_returns"])


def shipped_order(order_steps, store, shop, admin, lines, **extra) -> dict:
    order = place(store, lines, **extra)
    order_steps.run()
    (sale,) = sales_of(admin, order["id"])
    ship(admin, sale["id"], tracking=f"OUT-{number(order)}")
    assert order_steps.run()["fulfill"].fulfilled == 1
    return order


def test_a_return_with_an_exchange_is_booked_once_with_its_money_once_even_by_a_run_killed_half_way(
        order_steps, store, shop, admin, warehouse, warehouse_url):
    # The exchange item is cheaper than the returned one: the store gives the difference back.
    price = {v.sku: v.price for page in shop.iter_variants() for v in page}
    ranked = sorted(in_stock(shop, 12), key=lambda sku: price[sku])
    x, b, a = ranked[0], ranked[1], ranked[-1]
    assert price[x] < price[a]
    order = shipped_order(order_steps, store, shop, admin,
                          [{"sku": a, "quantity": 2}, {"sku": b, "quantity": 1}], email="returns@example.com",
                          discount_code="TEN", discount_percentage="10", tax_rate="0.08", shipping_price="4.00")
    # Restocked at a location whose warehouse is not the one the order's sale was booked in.
    warehouse_of = {w.name: w.id for w in admin.web_shop.warehouses}
    sold_from = sales_of(admin, order["id"])[0]["warehouse"]
    back_at = next(loc for loc in shop.locations() if warehouse_of.get(loc.name, sold_from) != sold_from)
    before = on_hand(admin, a)

    returned = give_back(store, order, a, 1, exchange=[(x, 1)], location_id=int(back_at.id.rsplit("/", 1)[-1]))
    return_id = returned["return_id"]
    order_steps.extract_and_stage()
    # Killed right after the return's sales were created and confirmed, before anything was recorded.
    run_killed_after(order_steps, warehouse_url, shop.name, "erpsync.sync.orders.returns.ReturnBooker.book",
                     "erpsync.sync.orders.changes.apply_changes")
    first, second = order_steps.run()["changes"], order_steps.run()["changes"]
    assert (first.returns, first.exchanges, second.returns) == (1, 1, 0)

    sales = sales_of(admin, order["id"])
    assert [s["web_id"] for s in sales] == [order["id"], f"{order['id']}#return:{return_id}",
                                            f"{order['id']}#exchange:{return_id}"], \
        "one sale for the return, one for the exchange, no refund sale: its money is the return's"
    main, back, given = sales
    assert goods(admin, back) == {a: -1} and goods(admin, given) == {x: 1}
    assert back["warehouse"] == warehouse_of[back_at.name], "restocked there: returned into its warehouse"
    assert adjustments(warehouse, order["id"]) == [("exchange", "applied"), ("refund", "applied"),
                                                   ("return", "applied")]
    # The store's own figure: what the order is worth after the return (the returned unit off, the
    # exchange item on); the refund gave the difference back, so it is not booked again.
    assert returned["refund_id"] is not None
    assert erp_total(admin, order["id"]) == Decimal(store_order(store, order)["current_total"])
    assert erp_total(admin, order["id"]) != Decimal(order["total"])

    # The ERP's warehouse receives the goods; the exchange ships and the store is told, once.
    receive(admin, back)
    after = on_hand(admin, a)
    assert after[back["warehouse"]] == before[back["warehouse"]] + 1
    ship(admin, given["id"], tracking="EXCH-1")
    assert order_steps.run()["fulfill"].fulfilled == 1
    assert order_steps.run()["fulfill"].fulfilled == 0
    assert adjustments(warehouse, order["id"]) == [("exchange", "fulfilled"), ("refund", "applied"),
                                                   ("return", "applied")]
    assert store_order(store, order)["fulfillment_status"] == "FULFILLED"


def test_a_return_waits_until_its_goods_are_disposed_of_and_units_not_restocked_are_money_only(
        order_steps, store, shop, admin, warehouse):
    (a,) = in_stock(shop, 1)
    order = shipped_order(order_steps, store, shop, admin, [{"sku": a, "quantity": 3}],
                          email="returns.kept@example.com", tax_rate="0.05")
    returned = give_back(store, order, a, 2, dispose=None)  # processed and refunded, goods not in yet
    order_steps.extract_and_stage()
    waiting = order_steps.run()["changes"]
    assert (waiting.returns, waiting.returns_waiting) == (0, 1)
    assert [s["web_id"] for s in sales_of(admin, order["id"])] == [order["id"]], "nothing booked yet"

    # The goods arrive damaged: disposed of, not restocked.
    dispose(shop, returned, "NOT_RESTOCKED")
    changes = order_steps.run()["changes"]
    assert (changes.returns, changes.exchanges, changes.returns_waiting) == (1, 0, 0)
    main, back = sales_of(admin, order["id"])
    assert goods(admin, back) == {}, "no goods come back into stock"
    assert erp_total(admin, order["id"]) == Decimal(store_order(store, order)["current_total"])
    assert erp_total(admin, order["id"]) < Decimal(order["total"])
    assert order_steps.run()["changes"].returns == 0


def dispose(shop, returned: dict, kind: str) -> None:
    """Dispose of every unit of the return's reverse fulfillment order (Shopify's GraphQL, as an app does)."""
    from erpsync.common.graphql import Operation

    found = shop.client.execute(Operation("ReverseLines", "query", """query ReverseLines($id: ID!) {
        return(id: $id) { reverseFulfillmentOrders(first: 5) {
        nodes { lineItems(first: 25) { nodes { id totalQuantity } } } } } }"""), {"id": returned["return_id"]})
    items = [item for rfo in found["return"]["reverseFulfillmentOrders"]["nodes"] for item in rfo["lineItems"]["nodes"]]
    location = shop.locations()[0].id
    answer = shop.client.execute(Operation("Dispose", "mutation", """mutation Dispose(
        $inputs: [ReverseFulfillmentOrderDisposeInput!]!) {
        reverseFulfillmentOrderDispose(dispositionInputs: $inputs) { userErrors { field message } } }"""), {
        "inputs": [{"reverseFulfillmentOrderLineItemId": item["id"], "quantity": item["totalQuantity"],
                    "locationId": location, "dispositionType": kind} for item in items]})
    assert answer["reverseFulfillmentOrderDispose"]["userErrors"] == []


def test_a_unit_a_return_restocked_is_offered_again_only_once_the_erp_has_it_back(
        order_steps, store, shop, admin, erp_settings, warehouse, target):
    """The store puts a returned unit back on its shelf at once; the ERP has it only when its warehouse
    receives the customer's return. Until then the store must not sell it (it is not there yet)."""
    from tests.integration.flows.test_order_steps import (
        book_and_wait_until_counted, erp_allows, past_last_write, stocked_mostly_at, unpromised)
    from tests.support.audit import audit
    from tests.support.flows import CatalogSteps
    from tests.support.offers import offered_at

    def catalog_run() -> None:
        CatalogSteps(erp=erp_settings.client(), store=shop, engine=warehouse).run()

    sku = next(sku for sku in stocked_mostly_at(shop, 0, elsewhere=2) if unpromised(admin, sku))
    past_last_write(warehouse)
    order = place(store, [{"sku": sku, "quantity": 2}], email="returns.shelf@example.com")
    book_and_wait_until_counted(order_steps, warehouse)
    (sale,) = sales_of(admin, order["id"])
    ship(admin, sale["id"], tracking="SHELF-1")
    assert order_steps.run()["fulfill"].fulfilled == 1
    catalog_run()
    booked, allowed = offered_at(shop, sku), erp_allows(admin, sku)

    past_last_write(warehouse)
    give_back(store, order, sku, 1)  # restocked where it was shipped from
    assert sum(offered_at(shop, sku).values()) == sum(booked.values()) + 1, "the store put the unit back"
    assert order_steps.run()["changes"].returns == 1
    catalog_run()
    assert offered_at(shop, sku) == booked, "not offered again before the ERP has it"

    _main, back = sales_of(admin, order["id"])
    receive(admin, back)
    assert sum(erp_allows(admin, sku).values()) == sum(allowed.values()) + 1
    catalog_run()
    assert sum(offered_at(shop, sku).values()) == sum(booked.values()) + 1, "back in the ERP: offered again"
    report = audit(target, passes=1, grace_s=0)
    assert report.clean and report.levels_checked, report.summary()
