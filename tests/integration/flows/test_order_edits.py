"""Order edits after booking, against the real ERP (with Tryton's sale_amendment), the store emulator's
order editing and both warehouse engines: each edit once, a killed run finds what it did, an edit after
the goods left is recorded as not possible, and the order is fulfilled only when all its sales shipped.
Expected quantities are worked out here from what the test placed and edited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.tryton.client import TrytonClient
from erpsync.warehouse import db
from erpsync.warehouse.schema import order_adjustment, order_ledger
from tests.integration.flows.test_order_steps import (
    book_and_wait_until_counted, erp_allows, in_stock, number, past_last_write, place, ship,
    stocked_mostly_at, unpromised)
from tests.support.audit import audit
from tests.support.flows import CatalogSteps
from tests.support.offers import offered_at
from sandbox.airflow_local import wait_for
from tests.support.flows import run_killed_after

pytestmark = pytest.mark.erp


def sales_of(admin: TrytonClient, order_id: str) -> list[dict]:
    """Every ERP sale of the order (its own and its edits'), as a list: one booked twice shows twice."""
    return admin.model("sale.sale", "search_read", ["OR", ("web_id", "=", order_id),
                                                     ("web_id", "like", f"{order_id}#edit:%")],
                       0, None, [("id", "ASC")], ["web_id", "state", "lines", "total_amount"])


def erp_total(admin: TrytonClient, order_id: str) -> Decimal:
    return sum((sale["total_amount"] for sale in sales_of(admin, order_id)), Decimal(0))


def goods(admin: TrytonClient, sale: dict) -> dict[str, float]:
    """The goods lines of a sale (not its discount, shipping or tax lines), units per SKU."""
    found: dict[str, float] = {}
    for line in admin.model("sale.line", "read", sale["lines"], ["product.code", "product.type", "quantity"]):
        product = line.get("product.") or {}
        if product.get("type") == "goods":
            found[product["code"]] = found.get(product["code"], 0) + line["quantity"]
    return found


def amendments(admin: TrytonClient, sale_id: int) -> list[dict]:
    return admin.model("sale.amendment", "search_read", [("sale", "=", sale_id)], 0, None, None,
                       ["description", "state"])


def edit(store, order: dict, *, add=(), lower=()) -> dict:
    """Edit the order in the store (begin, stage, commit): ``add`` [(sku, units)], ``lower`` [(sku, to)]."""
    lines = {line["sku"]: line["id"] for line in order["lines"]}
    return store.admin("POST", f"/orders/{number(order)}/edit", {
        "add": [{"sku": sku, "quantity": units} for sku, units in add],
        "set": [{"line_item_id": lines[sku], "quantity": to, "restock": True} for sku, to in lower],
    })


def adjustments(warehouse, order_id: str) -> list[tuple[str, str]]:
    with warehouse.connect() as conn:
        return sorted(conn.execute(select(order_adjustment.c.kind, order_adjustment.c.state).where(
            order_adjustment.c.store_order_id == order_id)).all())


def catalog_runs(erp_settings, shop, warehouse):
    def catalog_run() -> None:
        CatalogSteps(erp=erp_settings.client(), store=shop, engine=warehouse).run()
    return catalog_run


def add_more(store, order: dict, sku: str, units: int) -> dict:
    """Edit the order in the store to add ``units`` more of ``sku`` (a new line of the same variant)."""
    return store.admin("POST", f"/orders/{number(order)}/edit", {
        "add": [{"sku": sku, "quantity": units, "allow_duplicates": True}]})


def test_an_edit_after_booking_is_applied_once_even_by_a_run_killed_half_way(
        order_steps, store, shop, admin, warehouse, warehouse_url):
    a, b, c = in_stock(shop, 3)
    # A code and a tax: the edit moves the order's discounts and taxes too.
    order = place(store, [{"sku": a, "quantity": 3}, {"sku": b, "quantity": 2}], email="edits@example.com",
                  discount_code="TEN", discount_percentage="10", tax_rate="0.08", shipping_price="4.00")
    order_steps.run()
    (main,) = sales_of(admin, order["id"])
    assert goods(admin, main) == {a: 3, b: 2}
    assert erp_total(admin, order["id"]) == Decimal(order["total"])

    edited = edit(store, order, add=[(c, 2)], lower=[(a, 1)])
    edit_id = edited["agreement_id"]
    order_steps.extract_and_stage()
    # Killed right after the amendment of the order's sale was validated: its retry must not lower a again.
    run_killed_after(order_steps, warehouse_url, shop.name, "erpsync.sync.orders.edits.EditApplier._amend",
                     "erpsync.sync.orders.changes.apply_changes")
    first, second = order_steps.run()["changes"], order_steps.run()["changes"]
    assert (first.edits, first.edits_impossible, second.edits) == (1, 0, 0)

    sales = sales_of(admin, order["id"])
    assert [s["web_id"] for s in sales] == [order["id"], f"{order['id']}#edit:{edit_id}"], "one sale per edit"
    assert goods(admin, sales[0]) == {a: 1, b: 2}, "the order's sale follows: a lowered from 3 to 1"
    assert goods(admin, sales[1]) == {c: 2}, "the added line is the edit's own sale"
    assert [s["state"] for s in sales] == ["processing", "processing"]
    assert [(m["description"], m["state"]) for m in amendments(admin, main["id"])] == [
        (f"{order['id']}#edit:{edit_id}", "validated")], "one amendment, though the first run died after it"
    assert adjustments(warehouse, order["id"]) == [("edit", "applied")]
    assert Decimal(edited["total"]) != Decimal(order["total"])
    assert erp_total(admin, order["id"]) == Decimal(edited["total"]), "all its sales total the store's"

    # The order is fulfilled in the store only once both sales shipped.
    ship(admin, sales[0]["id"], tracking="EDIT-1")
    assert order_steps.run()["fulfill"].fulfilled == 0, "the edit's goods have not left"
    ship(admin, sales[1]["id"], tracking="EDIT-2")
    assert order_steps.run()["fulfill"].fulfilled == 1
    with warehouse.connect() as conn:
        assert conn.execute(select(order_ledger.c.state).where(
            order_ledger.c.store_order_id == order["id"])).scalar_one() == "fulfilled"


def test_an_edit_of_shipped_goods_is_not_possible_and_one_before_booking_is_booked_as_placed(
        order_steps, store, shop, admin, warehouse):
    a, b = in_stock(shop, 2)
    early = place(store, [{"sku": a, "quantity": 2}], email="edits.early@example.com", tax_rate="0.07",
                  discount_code="FIVE", discount_percentage="5")
    edited = edit(store, early, add=[(b, 1)], lower=[(a, 1)])  # before the flow ever saw the order
    shipped = place(store, [{"sku": a, "quantity": 2}, {"sku": b, "quantity": 1}],
                    email="edits.late@example.com")
    order_steps.run()
    sales = sales_of(admin, early["id"])
    assert [goods(admin, s) for s in sales] == [{a: 1}, {b: 1}], "booked as placed (a 2), then the edit"
    assert erp_total(admin, early["id"]) == Decimal(edited["total"]), "placed money, then the edit's"

    (sale,) = sales_of(admin, shipped["id"])
    ship(admin, sale["id"], tracking="GONE-1")
    lowered = edit(store, shipped, lower=[(b, 0)])
    assert lowered["fulfillment_status"] in ("UNFULFILLED", "PARTIALLY_FULFILLED", "FULFILLED")
    first, second = order_steps.run()["changes"], order_steps.run()["changes"]
    assert (first.edits, first.edits_impossible, second.edits_impossible) == (0, 1, 0)
    assert any(shipped["name"] in text and "already shipped" in text for text in first.impossible)
    assert goods(admin, sales_of(admin, shipped["id"])[0]) == {a: 2, b: 1}, "the shipped sale is left as is"
    assert adjustments(warehouse, shipped["id"]) == [("edit", "not_possible")]


def test_an_order_whose_edit_the_erp_has_not_followed_yet_is_not_fulfilled(order_steps, store, shop, admin):
    """The ERP shipped the order's sale, then the store added a line: the order must not be fulfilled in the
    store before the ERP has the added line in a sale of its own and has shipped it too."""
    a, b = in_stock(shop, 2)
    order = place(store, [{"sku": a, "quantity": 1}], email="edits.ship@example.com")
    order_steps.run()
    (main,) = sales_of(admin, order["id"])
    ship(admin, main["id"], tracking="FIRST-1")
    edit(store, order, add=[(b, 1)])
    order_steps.extract_and_stage()
    assert order_steps.fulfill().fulfilled == 0, "the edit is not in the ERP yet"
    assert order_steps.run()["fulfill"].fulfilled == 0, "the edit's sale has not shipped"
    main, added = sales_of(admin, order["id"])
    assert goods(admin, added) == {b: 1}
    ship(admin, added["id"], tracking="SECOND-1")
    assert order_steps.run()["fulfill"].fulfilled == 1


def test_an_edit_taking_back_a_unit_the_erp_shipped_leaves_the_store_at_what_the_erp_allows(
        order_steps, store, shop, admin, erp_settings, warehouse, target):
    """The ERP shipped the order, the store did not know yet and an edit took a unit off it, restocked: the
    store puts the unit back on its shelf, the ERP cannot follow (the unit left) and allows what it did.
    The store must come back down to that, not sell a unit that is gone. The SKU is one the ERP promises
    nothing of, so what it allows is what it has."""
    catalog_run = catalog_runs(erp_settings, shop, warehouse)
    sku = next(sku for sku in stocked_mostly_at(shop, 0, elsewhere=2) if unpromised(admin, sku))
    past_last_write(warehouse)
    order = place(store, [{"sku": sku, "quantity": 2}], email="edits.gone@example.com")
    book_and_wait_until_counted(order_steps, warehouse)
    (sale,) = sales_of(admin, order["id"])
    ship(admin, sale["id"], tracking="GONE-2")
    catalog_run()
    booked, allowed = offered_at(shop, sku), erp_allows(admin, sku)

    past_last_write(warehouse)
    edit(store, order, lower=[(sku, 1)])
    assert sum(offered_at(shop, sku).values()) == sum(booked.values()) + 1, "the store put the unit back"
    changes = order_steps.run()["changes"]
    assert (changes.edits, changes.edits_impossible) == (0, 1)
    assert erp_allows(admin, sku) == allowed, "the unit left the ERP's warehouse: nothing comes back"
    catalog_run()
    assert offered_at(shop, sku) == booked
    report = audit(target, passes=1, grace_s=0)
    assert report.clean and report.levels_checked, report.summary()


def test_units_an_edit_added_are_held_back_until_a_stock_read_counts_the_edit(
        order_steps, store, shop, admin, erp_settings, warehouse, target):
    """The store commits the units an edit adds at once; the ERP counts them only once the changes step
    books the edit (here: its own sale). An order booked as placed is counted by the ERP for its own sale
    alone: a publish in between must not offer the edit's units again. Once a stock read counts the edit's
    sale, the store stays where it is: the ERP allows as much."""
    catalog_run = catalog_runs(erp_settings, shop, warehouse)
    sku = next(sku for sku in stocked_mostly_at(shop, 0, elsewhere=2) if unpromised(admin, sku))
    catalog_run()
    allowed = sum(erp_allows(admin, sku).values())
    past_last_write(warehouse)
    order = place(store, [{"sku": sku, "quantity": 1}], email="edits.held@example.com")
    edited = add_more(store, order, sku, 2)  # before the flow saw the order: booked as placed (1)
    committed = offered_at(shop, sku)

    book_and_wait_until_counted(order_steps, warehouse)
    (main,) = sales_of(admin, order["id"])
    assert goods(admin, main) == {sku: 1}
    assert sum(erp_allows(admin, sku).values()) == allowed - 1, "the ERP counts the order's own sale"
    catalog_run()
    catalog_run()
    assert offered_at(shop, sku) == committed, "the edit's 2 units, which the ERP does not count, stay held"
    report = audit(target, passes=1, grace_s=0)
    assert report.clean and report.levels_checked, report.summary()

    changes = order_steps.run()["changes"]
    assert (changes.edits, changes.edits_impossible) == (1, 0)
    main, added = sales_of(admin, order["id"])
    assert goods(admin, added) == {sku: 2} and added["web_id"] == f"{order['id']}#edit:{edited['agreement_id']}"
    assert sum(erp_allows(admin, sku).values()) == allowed - 3, "the ERP counts the edit's sale too"
    with warehouse.connect() as conn:
        counted = conn.execute(select(order_adjustment.c.erp_counted_at).where(
            order_adjustment.c.store_order_id == order["id"], order_adjustment.c.kind == "edit")).scalar_one()
    assert counted is not None
    wait_for(lambda: dt.datetime.now(dt.UTC) > db.as_utc(counted), timeout_s=10,
             what="the ERP's clock past the edit's sale", interval_s=0.05)
    catalog_run()
    assert offered_at(shop, sku) == committed
    report = audit(target, passes=1, grace_s=0)
    assert report.clean and report.levels_checked, report.summary()


def test_an_edit_made_after_our_last_write_is_not_taken_off_twice_by_the_stale_compare(
        order_steps, store, shop, admin, erp_settings, warehouse, target):
    """The ERP counts the order and we wrote its level since; then the store commits the units an edit
    adds. The next write holds them back and finds the store's level moved (a stale compare): the edit is
    a sale it knows of, and its units must not be taken off a second time (the store would sit 2 below what
    the ERP allows until the SKU's next change)."""
    catalog_run = catalog_runs(erp_settings, shop, warehouse)
    sku = next(sku for sku in stocked_mostly_at(shop, 0, elsewhere=2) if unpromised(admin, sku))
    catalog_run()
    order = place(store, [{"sku": sku, "quantity": 1}], email="edits.stale@example.com")
    book_and_wait_until_counted(order_steps, warehouse)
    catalog_run()
    allowed = erp_allows(admin, sku)
    past_last_write(warehouse)
    add_more(store, order, sku, 2)
    committed = offered_at(shop, sku)
    order_steps.extract_and_stage()
    catalog_run()
    catalog_run()
    assert offered_at(shop, sku) == committed, "the edit's units are held back once, not twice"
    assert erp_allows(admin, sku) == allowed, "the ERP has not followed the edit"
    report = audit(target, passes=1, grace_s=0)
    assert report.clean and report.levels_checked, report.summary()


def test_the_units_of_a_line_an_edit_took_off_are_offered_again_once_the_erp_follows(
        order_steps, store, shop, admin, erp_settings, warehouse, target):
    """An edit takes a line off a booked order (restocked): the ERP follows with an amendment, and Tryton
    deletes the line's planned move (it clears a sale's moves and plans the lines again, and a line of
    nothing gets none). No move records the change, yet the ERP allows the units again: the next stock
    read must see it, and the store keep them on offer."""
    catalog_run = catalog_runs(erp_settings, shop, warehouse)
    kept, dropped = [sku for sku in stocked_mostly_at(shop, 0, elsewhere=2) if unpromised(admin, sku)][:2]
    catalog_run()
    allowed = erp_allows(admin, dropped)
    order = place(store, [{"sku": kept, "quantity": 1}, {"sku": dropped, "quantity": 2}],
                  email="edits.dropped@example.com")
    book_and_wait_until_counted(order_steps, warehouse)
    catalog_run()
    assert sum(erp_allows(admin, dropped).values()) == sum(allowed.values()) - 2
    past_last_write(warehouse)
    edit(store, order, lower=[(dropped, 0)])
    restocked = offered_at(shop, dropped)

    changes = order_steps.run()["changes"]
    assert (changes.edits, changes.edits_impossible) == (1, 0)
    (main,) = sales_of(admin, order["id"])
    assert goods(admin, main) == {kept: 1, dropped: 0}
    assert erp_allows(admin, dropped) == allowed, "the ERP allows the 2 units again"
    catalog_run()
    catalog_run()
    assert offered_at(shop, dropped) == restocked
    report = audit(target, passes=1, grace_s=0)
    assert report.clean and report.levels_checked, report.summary()
