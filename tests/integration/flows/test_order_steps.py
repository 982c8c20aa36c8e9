"""The order flow's steps against the real ERP, the store emulator and both warehouse engines."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.schema import order_adjustment, order_ledger, quarantine, stg_order
from sandbox.airflow_local import wait_for
from tests.support.erp import sales_per_order
from tests.support.flows import CatalogSteps, run_killed_after

pytestmark = pytest.mark.erp


def in_stock(shop, count: int, at_least: int = 6) -> list[str]:
    variants = [v for page in shop.iter_variants() for v in page if v.product_status == "ACTIVE"]
    levels: dict[str, int] = {}
    for level in shop.inventory_levels([v.inventory_item_id for v in variants], [loc.id for loc in shop.locations()]):
        levels[level.inventory_item_id] = max(levels.get(level.inventory_item_id, 0), level.available)
    return [v.sku for v in variants if levels.get(v.inventory_item_id, 0) >= at_least][:count]


def place(store, lines, email="ava@example.com", **extra) -> dict:
    return store.admin("POST", "/orders", {"lines": lines, "email": email, "first_name": "Ava", "last_name": "Martin",
                                           **extra})


def number(order: dict) -> str:
    return order["id"].rsplit("/", 1)[-1]


def erp_sales(admin: TrytonClient, web_ids) -> dict[str, dict]:
    rows = admin.model("sale.sale", "search_read", [("web_id", "in", list(web_ids))], 0, None, None,
                       ["web_id", "total_amount", "party", "state"])
    return {row["web_id"]: row for row in rows}


def ledger_states(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(order_ledger.c.store_order_id, order_ledger.c.state)).all())


# -- booking, changes, exactly once -----------------------------------------------------------------

def test_orders_are_booked_once_with_matching_totals_and_changes_follow(order_steps, store, shop, admin, warehouse):
    skus = in_stock(shop, 4)
    discounted = place(store, [{"sku": skus[0], "quantity": 2, "discount": "3.00"}, {"sku": skus[1], "quantity": 1}],
                       shipping_price="5.00", tax_rate="0.0825")
    returning = place(store, [{"sku": skus[2], "quantity": 1}])  # the same customer again
    to_cancel = place(store, [{"sku": skus[3], "quantity": 1}], email="noah@example.com")
    to_refund = place(store, [{"sku": skus[0], "quantity": 2}], email="emma@example.com", tax_rate="0.08")
    orders = [discounted, returning, to_cancel, to_refund]

    first = order_steps.run()
    assert first["ingest"].created == len(orders) and first["ingest"].confirmed == len(orders)
    sales = erp_sales(admin, [o["id"] for o in orders])
    assert set(sales) == {o["id"] for o in orders}
    assert all(sales[o["id"]]["total_amount"] == Decimal(o["total"]) for o in orders), "ERP total = store total"
    assert sales[discounted["id"]]["party"] == sales[returning["id"]]["party"], "a returning customer, one party"

    store.admin("POST", f"/orders/{number(to_cancel)}/cancel", {"reason": "CUSTOMER", "restock": True})
    refund = store.admin("POST", f"/orders/{number(to_refund)}/refund",
                         {"lines": [{"sku": skus[0], "quantity": 1, "restock": True}]})
    second = order_steps.run()
    assert second["ingest"].created == 0
    assert second["changes"].cancellations == 1 and second["changes"].refunds == 1
    assert ledger_states(warehouse)[to_cancel["id"]] == "cancelled"
    (shipment_state,) = admin.model("sale.sale", "read", [sales[to_cancel["id"]]["id"]], ["shipments.state"])
    assert {s["state"] for s in shipment_state["shipments."]} == {"cancelled"}, "the cancelled order ships nothing"
    returns = admin.model("sale.sale", "search_read", [("web_id", "like", f"{to_refund['id']}#refund:%")], 0, None,
                          None, ["total_amount"])
    assert len(returns) == 1 and returns[0]["total_amount"] == -_refunded(store, to_refund), refund

    third = order_steps.run()
    assert (third["ingest"].created, third["changes"].cancellations, third["changes"].refunds) == (0, 0, 0)
    assert len(erp_sales(admin, [o["id"] for o in orders])) == len(orders)
    with warehouse.connect() as conn:
        adjustments = conn.execute(select(order_adjustment.c.kind, order_adjustment.c.state, order_adjustment.c.detail,
                                          order_adjustment.c.erp_sale_id)).all()
    # The cancellation, the refund the store made with it (covered by the cancellation), and the refund.
    assert sorted((kind, state, sale is not None) for kind, state, _, sale in adjustments) == [
        ("cancel", "applied", False), ("refund", "applied", False), ("refund", "applied", True)]


def _refunded(store, order: dict) -> Decimal:
    (summary,) = [o for o in store.admin("GET", "/orders?limit=50")["orders"] if o["id"] == order["id"]]
    return Decimal(summary["total"]) - Decimal(summary["current_total"])


def test_a_process_killed_between_erp_create_and_ledger_write_books_nothing_twice(order_steps, store, shop, admin,
                                                                                   warehouse_url, warehouse):
    skus = in_stock(shop, 3)
    orders = [place(store, [{"sku": sku, "quantity": 1}], email=f"kill{i}@example.com") for i, sku in enumerate(skus)]
    staged = order_steps.extract_and_stage()
    assert staged["staged"].staged == len(orders)

    # A real process, killed (SIGKILL-like os._exit) right after the ERP created the sales, before the
    # ledger heard of them.
    book_killed_after(order_steps, warehouse_url, shop, "erpsync.tryton.client.TrytonClient.create_sales")
    assert len(erp_sales(admin, [o["id"] for o in orders])) == len(orders), "the ERP has the sales..."
    assert set(ledger_states(warehouse).values()) == {"pending"}, "...the ledger does not know it yet"

    # Another run leaves the killed attempt's fresh claim alone; Airflow retrying the killed task (the
    # same run) takes it up at once and finds the sales instead of creating them again.
    other = order_steps.book(run_id="another-run")
    assert (other.created, other.found) == (0, 0)
    rerun = order_steps.book(run_id="killed")
    assert rerun.created == 0 and rerun.found == len(orders) and rerun.confirmed == len(orders)
    assert len(erp_sales(admin, [o["id"] for o in orders])) == len(orders)
    assert set(ledger_states(warehouse).values()) == {"confirmed"}


def test_guests_without_e_mail_are_one_erp_party_each_across_orders_and_a_killed_run(
        order_steps, store, shop, admin, warehouse_url):
    """The matching rule (erpsync.sync.orders.customers) against the real ERP: a guest with a phone only,
    written differently on two orders, is one party; so is a guest with neither, by name and address
    written differently; and a run killed (os._exit) right after the ERP created the parties, before any
    sale, leaves no second party for the retry. Counted in the ERP, not in the product's records."""
    (sku,) = in_stock(shop, 1, at_least=8)
    # The ERP serves the whole session (both warehouse engines): people of this run only.
    n = uuid.uuid4().int % 10_000
    austin = {"address1": "1 Oak Avenue", "city": "Austin", "zip": "73301", "province_code": "TX",
              "country_code": "US"}
    brooklyn = {"address1": f"{n} Market Street", "city": "Brooklyn", "zip": "11201", "province_code": "NY",
                "country_code": "US"}

    def guest(first: str, last: str, address: dict) -> dict:
        return store.admin("POST", "/orders", {"lines": [{"sku": sku, "quantity": 1}], "email": None,
                                               "first_name": first, "last_name": last,
                                               "shipping_address": address})

    parties_before = admin.model("party.party", "search_count", [])
    first_wave = [guest("Ada", "Jensen", {**austin, "phone": f"+1 (512) 55{n // 100:02d}-{n % 100:02d}35"}),
                  guest("Ben", "Silva", brooklyn)]
    assert order_steps.extract_and_stage()["staged"].staged == 2

    book_killed_after(order_steps, warehouse_url, shop, "erpsync.tryton.sales.TrytonSales.create_parties")
    assert admin.model("party.party", "search_count", []) == parties_before + 2, "the parties exist, no sale"
    assert erp_sales(admin, [o["id"] for o in first_wave]) == {}

    rerun = order_steps.book(run_id="killed")
    assert rerun.confirmed == 2, rerun
    second_wave = [guest("ADA", "JENSEN", {**austin, "address1": "9 Elm Road", "phone": f"+151255{n:04d}35"}),
                   guest("ben", "silva", {**brooklyn, "address1": f"{n}  market street."})]
    order_steps.extract_and_stage()  # the overlap reads the first wave again too
    assert order_steps.book(run_id="later").confirmed == 2

    party_of = {web_id: sale["party"] for web_id, sale in erp_sales(
        admin, [o["id"] for o in first_wave + second_wave]).items()}
    assert len(party_of) == 4
    assert party_of[first_wave[0]["id"]] == party_of[second_wave[0]["id"]], "one phone, one party"
    assert party_of[first_wave[1]["id"]] == party_of[second_wave[1]["id"]], "one name and address, one party"
    assert party_of[first_wave[0]["id"]] != party_of[first_wave[1]["id"]]
    assert admin.model("party.party", "search_count", []) == parties_before + 2, "no party per retry or order"
    phones = admin.model("party.contact_mechanism", "search_read",
                         [("party", "=", party_of[first_wave[0]["id"]])], 0, None, None, ["type", "value"])
    assert [(m["type"], m["value"]) for m in phones] == [("phone", f"+151255{n:04d}35")]


def book_killed_after(order_steps, warehouse_url: str, shop, method: str) -> None:
    """Book the staged orders in a real process that dies (os._exit, as SIGKILL) right after ``method``."""
    run_killed_after(order_steps, warehouse_url, shop.name, method, "erpsync.sync.orders.ingest.ingest_orders")


def test_overlapping_runs_and_a_backfill_twice_book_each_order_once(order_steps, store, shop, admin, warehouse):
    from erpsync.tryton.errors import ErpTransportError

    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    skus = in_stock(shop, 5)
    orders = [place(store, [{"sku": sku, "quantity": 1}], email=f"overlap{i}@example.com") for i, sku in enumerate(skus)]
    order_steps.extract_and_stage()

    runs = 3
    together = threading.Barrier(runs)
    outcomes: list[object] = [None] * runs

    def book(number: int) -> None:
        together.wait(timeout=30)  # the runs start booking at the same moment
        try:
            outcomes[number] = order_steps.book(run_id=f"overlap-{number}")
        except ErpTransportError as error:  # the ERP (SQLite) may stay locked by another run's writes
            outcomes[number] = error

    threads = [threading.Thread(target=book, args=(number,)) for number in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    finished = [o for o in outcomes if not isinstance(o, ErpTransportError)]
    assert all(o is not None for o in outcomes), outcomes  # every run ended, one way or the other
    assert finished, f"at least one run books: {outcomes}"
    last = order_steps.book()  # the next run finishes whatever a failed one left
    created = sum(o.created for o in finished) + last.created
    assert created == len(orders), f"each order created by exactly one run: {outcomes}, {last}"
    assert sales_per_order(admin, [o["id"] for o in orders]) == Counter({o["id"]: 1 for o in orders})
    assert set(ledger_states(warehouse).values()) == {"confirmed"}

    for _ in range(2):  # a backfill over the window, twice
        order_steps.extract_and_stage(window_start=started)
        assert order_steps.book().created == 0
    assert sales_per_order(admin, [o["id"] for o in orders]) == Counter({o["id"]: 1 for o in orders})


# -- cursor boundaries ------------------------------------------------------------------------------

def test_the_overlap_is_read_as_stamps_and_an_order_shown_late_is_read_whole(order_steps, store, shop, warehouse):
    skus = in_stock(shop, 1, at_least=20)
    orders = [place(store, [{"sku": skus[0], "quantity": 1}], email=f"overlap{i}@example.com") for i in range(4)]
    order_steps.lag = dt.timedelta(minutes=2)  # the deployed default: the next window reads the last two minutes again
    # The store stamps whole seconds: the first window ends a second after the orders' stamps, so that
    # they lie wholly in the overlap the next window reads as stamps (in the window's last second they
    # would be read whole again: correct, only dearer).
    stamped = max(dt.datetime.fromisoformat(o["updated_at"]) for o in orders)
    wait_for(lambda: dt.datetime.now(dt.UTC) >= stamped + dt.timedelta(seconds=1), timeout_s=10,
             what="a second past the orders' stamps", interval_s=0.05)
    order_steps.extract_and_stage()
    # One of them as if the store had not shown it to the first read (its search index lags): not staged.
    late = orders[0]["id"]
    with warehouse.begin() as conn:
        conn.execute(stg_order.delete().where(stg_order.c.store_order_id == late))
    read_whole = []
    original = shop.iter_orders

    def recording(window, **kwargs):
        for page in original(window, **kwargs):
            read_whole.extend(o.order_id for o in page)
            yield page

    shop.iter_orders = recording
    try:
        again = order_steps.extract_and_stage()  # the four are in this run's overlap with the first
    finally:
        shop.iter_orders = original
    assert late in read_whole and not {o["id"] for o in orders[1:]} & set(read_whole)
    with warehouse.connect() as conn:
        staged = set(conn.execute(select(stg_order.c.store_order_id)).scalars())
    assert {o["id"] for o in orders} <= staged
    assert again["staged"].staged >= 1
    # What the overlap cost: stamps (a point or so an order) instead of every order whole.
    assert again["extracted"].rows == len(read_whole)


def test_our_own_fulfillment_is_not_read_back_and_a_change_beside_it_is(order_steps, store, shop, admin, warehouse):
    """Fulfilling an order moves its ``updatedAt``: the next run finds it by its stamp and reads only its
    version (a few points), not the whole order, when nothing else changed. An order refunded between
    the staged read and our fulfillment (the stamp is still ours) is read whole, and so is one changed
    after it, and their changes are staged."""
    skus = in_stock(shop, 3, at_least=10)
    quiet = place(store, [{"sku": skus[0], "quantity": 1}], email="echo1@example.com")
    refunded_first = place(store, [{"sku": skus[1], "quantity": 2}], email="echo2@example.com")
    refunded_after = place(store, [{"sku": skus[2], "quantity": 2}], email="echo3@example.com")
    orders = [quiet, refunded_first, refunded_after]
    order_steps.run()
    sales = erp_sales(admin, [o["id"] for o in orders])
    for order in orders:
        ship(admin, sales[order["id"]]["id"], tracking=f"1Z{number(order)}")
    # Refunded in the store before we tell it of the shipment; nobody has read that change yet.
    store.admin("POST", f"/orders/{number(refunded_first)}/refund",
                {"lines": [{"sku": skus[1], "quantity": 1, "restock": False}]})
    assert order_steps.fulfill().fulfillments == 3
    stamps = {s.order_id: s.updated_at for s in shop.order_versions([o["id"] for o in orders])}
    with warehouse.connect() as conn:
        echoes = dict(conn.execute(select(order_ledger.c.store_order_id, order_ledger.c.store_echo_at)).all())
    assert [echoes[o["id"]] for o in orders] == [stamps[o["id"]] for o in orders], "the store's answer, kept"
    # Changed after our fulfillment, in a later second of the store's clock (it stamps whole seconds).
    wait_for(lambda: dt.datetime.now(dt.UTC) >= stamps[refunded_after["id"]] + dt.timedelta(seconds=1),
             timeout_s=10, what="a second past our fulfillment", interval_s=0.05)
    store.admin("POST", f"/orders/{number(refunded_after)}/refund",
                {"lines": [{"sku": skus[2], "quantity": 1, "restock": False}]})

    read_whole, versions_read = [], []
    original_orders, original_versions = shop.iter_orders, shop.order_versions

    def recording_orders(window, **kwargs):
        for page in original_orders(window, **kwargs):
            read_whole.extend(o.order_id for o in page)
            yield page

    def recording_versions(order_ids):
        versions_read.extend(order_ids)
        return original_versions(order_ids)

    shop.iter_orders, shop.order_versions = recording_orders, recording_versions
    try:
        order_steps.extract_and_stage()
    finally:
        shop.iter_orders, shop.order_versions = original_orders, original_versions
    assert sorted(read_whole) == sorted([refunded_first["id"], refunded_after["id"]]), "each read once"
    assert sorted(versions_read) == sorted([quiet["id"], refunded_first["id"]])
    with warehouse.connect() as conn:
        staged = dict(conn.execute(select(stg_order.c.store_order_id, stg_order.c.refunded_total)).all())
    assert staged[quiet["id"]] == 0
    assert staged[refunded_first["id"]] > 0 and staged[refunded_after["id"]] > 0, "both refunds staged"


def test_many_orders_with_one_timestamp_and_an_order_changed_while_the_extract_pages(order_steps, store, shop, warehouse,
                                                                                    admin):
    skus = in_stock(shop, 1, at_least=20)
    orders = [place(store, [{"sku": skus[0], "quantity": 1}], email=f"same{i}@example.com") for i in range(8)]
    assert len({o["updated_at"] for o in orders}) < len(orders), "several orders share an updatedAt"

    original = shop.iter_orders
    changed = []

    def pages_with_a_change(window, **kwargs):
        if kwargs:  # the overlap's orders read by id: as they are
            yield from original(window, **kwargs)
            return
        for number_of_page, page in enumerate(original(window)):
            yield page
            if number_of_page == 0:  # cancel an order that is not read yet: its updatedAt moves on
                not_read = next(o for o in orders if o["id"] not in {x.order_id for x in page})
                store.admin("POST", f"/orders/{number(not_read)}/cancel", {"reason": "CUSTOMER"})
                changed.append(not_read["id"])

    shop.iter_orders = pages_with_a_change
    first = order_steps.extract_and_stage()
    shop.iter_orders = original
    second = order_steps.extract_and_stage()  # the next window (with its overlap) reads the changed order again
    order_steps.book()
    order_steps.changes()

    booked = erp_sales(admin, [o["id"] for o in orders])
    states = ledger_states(warehouse)
    assert first["staged"].staged + second["staged"].staged >= len(orders)
    assert {o["id"] for o in orders} <= set(states), "none missed"
    assert len(booked) <= len(orders), "none doubled"
    assert states[changed[0]] == "cancelled"


# -- held orders ------------------------------------------------------------------------------------

def test_an_order_with_an_unknown_sku_is_held_then_booked_once_the_product_exists(order_steps, store, shop, admin,
                                                                                 warehouse, erp_settings):
    from erpsync.store.records import ProductDraft, VariantDraft
    from tests.support.erp import new_template

    template_id, variants = new_template(admin, ["S"], Decimal("30.00"))
    sku = variants[0]["code"]
    # The store sells it before the ERP's catalog reached the warehouse (created in the store by hand).
    locations = {loc.name: loc.id for loc in shop.locations()}
    shop.set_product(ProductDraft(None, "Hand-made listing", "", "ACTIVE", (), "Variant", (
        VariantDraft(sku, "S", Decimal("30.00"), None, None, ((next(iter(locations.values())), 5),)),)))
    with warehouse.begin() as conn:  # the ERP's catalog has not been staged since
        from erpsync.warehouse.schema import stg_product
        conn.execute(stg_product.delete().where(stg_product.c.sku == sku))
    order = place(store, [{"sku": sku, "quantity": 1}], email="held@example.com")

    held = order_steps.run()
    assert held["staged"].quarantined == 1 and held["ingest"].created == 0
    with warehouse.connect() as conn:
        reason = conn.execute(select(quarantine.c.reason).where(quarantine.c.record_key == order["id"],
                                                                quarantine.c.status == "open")).scalar_one()
    assert "not a product of the ERP" in reason
    order_steps.run()  # still held: no churn in quarantine
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(quarantine)
                            .where(quarantine.c.record_key == order["id"])).scalar_one() == 1

    CatalogSteps(erp=erp_settings.client(), store=shop, engine=warehouse).run(full=True)  # the product is staged
    released = order_steps.run()
    assert released["staged"].released == 1 and released["ingest"].created == 1
    assert list(erp_sales(admin, [order["id"]])) == [order["id"]]


# -- fulfillment ------------------------------------------------------------------------------------

def test_a_shipment_done_in_the_erp_becomes_one_store_fulfillment_with_tracking(order_steps, store, shop, admin,
                                                                                 warehouse):
    (sku,) = in_stock(shop, 1)
    order = place(store, [{"sku": sku, "quantity": 1}], email="ship@example.com")
    order_steps.run()
    (sale,) = erp_sales(admin, [order["id"]]).values()
    ship(admin, sale["id"], tracking="1Z999AA10123456784")

    first = order_steps.fulfill()
    second = order_steps.fulfill()
    assert (first.fulfilled, second.fulfilled) == (1, 0)
    fulfillment_orders = shop.fulfillment_orders([order["id"]])[order["id"]]
    assert [len(f.fulfillment_ids) for f in fulfillment_orders] == [1]
    from erpsync.shopify.operations import Operation

    tracking = shop.client.execute(Operation("Tracking", "query", """
        query Tracking($id: ID!) { order(id: $id) { fulfillments(first: 5) { trackingInfo { number } } } }"""),
        {"id": order["id"]})
    assert json.dumps(tracking).count("1Z999AA10123456784") == 1
    assert ledger_states(warehouse)[order["id"]] == "fulfilled"


def test_an_order_shipping_from_two_store_locations_gets_one_fulfillment_per_location(order_steps, store, shop, admin,
                                                                                       warehouse):
    """Shopify fulfills one location at a time: an order whose lines the store assigned to two
    locations needs two fulfillments (with the same tracking), made once."""
    skus = stocked_mostly_at_each_location(shop)
    order = place(store, [{"sku": sku, "quantity": 1} for sku in skus], email="two.places@example.com")
    order_steps.run()
    (sale,) = erp_sales(admin, [order["id"]]).values()
    ship(admin, sale["id"], tracking="1Z999AA10123456799")

    first = order_steps.fulfill()
    second = order_steps.fulfill()
    assert (first.fulfilled, first.failed, second.fulfilled) == (1, 0, 0)
    fulfillment_orders = shop.fulfillment_orders([order["id"]])[order["id"]]
    assert len({f.location_id for f in fulfillment_orders}) == 2
    assert [f.status for f in fulfillment_orders] == ["CLOSED", "CLOSED"]
    assert [len(f.fulfillment_ids) for f in fulfillment_orders] == [1, 1]
    assert ledger_states(warehouse)[order["id"]] == "fulfilled"


def test_a_sale_is_booked_in_the_warehouse_of_the_store_location_that_sold_it(order_steps, store, shop, admin,
                                                                              warehouse):
    """The store takes an order's goods from one location; the ERP sale takes them from the warehouse
    mapped to it (not the web shop's first warehouse), and until the ERP counts them they are held back
    at that location only: both sides keep the same stock per location."""
    from erpsync.sync.catalog.desired import pending_quantities
    from tests.support.erp import available

    locations = {loc.id: loc.name for loc in shop.locations()}
    first, second = (w for w in admin.web_shop.warehouses if w.name in locations.values())
    _, sku = stocked_mostly_at_each_location(shop)  # the store sells it from the second location
    (product,) = admin.model("product.product", "search", [("code", "=", sku)], 0, 1, None)
    before = {w.id: available(admin, [product], w.id)[product] for w in (first, second)}
    order = place(store, [{"sku": sku, "quantity": 2}], email="second.place@example.com")
    (fulfillment_order,) = shop.fulfillment_orders([order["id"]])[order["id"]]
    assert locations[fulfillment_order.location_id] == second.name

    order_steps.extract_and_stage()
    with warehouse.connect() as conn:
        assert pending_quantities(conn, shop.name, [sku]) == {(sku, second.name): Decimal(2)}
    order_steps.book()

    (sale,) = admin.model("sale.sale", "search_read", [("web_id", "=", order["id"])], 0, None, None,
                          ["warehouse", "state"])
    assert sale["warehouse"] == second.id
    after = {w.id: available(admin, [product], w.id)[product] for w in (first, second)}
    assert after == {first.id: before[first.id], second.id: before[second.id] - 2}


@pytest.mark.parametrize("baseline", ["written", "read", "settled", "unstamped"])
def test_an_order_split_over_two_locations_leaves_every_level_at_what_the_erp_allows(
        order_steps, store, shop, admin, erp_settings, warehouse, target, baseline):
    """One ERP sale takes its goods from one warehouse; the store took them from two locations. Once the
    ERP counts the sale, each location offers what its warehouses allow: the location whose units the ERP
    did not take is written back up (it stayed one low while the published state said it was right), the
    other follows the ERP's figure. Checked by the independent audit, not the product's formulas.

    How the levels came to be recorded before the sale:
    - ``written``: by our write, which the store stamped;
    - ``read``: never written, only read from the store as the baseline (a store adopted with its stock,
      as the demo's is): the store's time of that read must count as for a write;
    - ``settled``: our compare-and-swap found the store already holding what we wanted (our own earlier
      write, applied though its answer was lost): recorded as of the store's time of that re-read;
    - ``unstamped``: recorded with no store time at all (a row from before the store's times were kept):
      it may have moved with any sale, so it is written, which stamps it; not knowing which sales the
      desired level holds back, that write takes them all off (low, never high) and holds them, and the
      first run after the order staging has read past that write writes it up."""
    from erpsync.sync.state import publish_due
    from erpsync.warehouse.schema import published_inventory
    from tests.support.audit import audit

    def catalog_run(**options) -> dict:
        return CatalogSteps(erp=erp_settings.client(), store=shop, engine=warehouse).run(**options)

    if baseline == "read":
        with warehouse.begin() as conn:
            conn.execute(published_inventory.delete())
        assert catalog_run(full=True)["publish_inventory"].applied == 0, \
            "nothing to write: the store has what the ERP allows"
    elif baseline == "settled":
        with warehouse.begin() as conn:  # as if the answer to our last write had been lost: the one before kept
            levels = conn.execute(select(func.count()).select_from(published_inventory)).scalar_one()
            conn.execute(published_inventory.update().values(quantity=published_inventory.c.quantity - 1,
                                                             store_confirmed_at=None))
        settled = catalog_run(full=True)["publish_inventory"]
        assert (settled.applied, settled.recomputed, settled.failed) == (levels, levels, 0)
        with warehouse.connect() as conn:
            assert conn.execute(select(func.count()).select_from(published_inventory).where(
                published_inventory.c.store_confirmed_at.is_(None))).scalar_one() == 0, "each settled one stamped"
    elif baseline == "unstamped":
        past_last_write(warehouse)
        with warehouse.begin() as conn:
            conn.execute(published_inventory.update().values(store_confirmed_at=None))
    past_last_write(warehouse)  # the order is no doubt after our last writes (see the next test)
    skus = stocked_mostly_at_each_location(shop)
    order = place(store, [{"sku": sku, "quantity": 1} for sku in skus], email="split@example.com")
    assert len({f.location_id for f in shop.fulfillment_orders([order["id"]])[order["id"]]}) == 2
    book_and_wait_until_counted(order_steps, warehouse)
    catalog_run()
    if baseline == "unstamped":
        with warehouse.connect() as conn:
            assert set(publish_due.due(conn, store=shop.name, step=publish_due.INVENTORY)) == set(skus)
        assert len(audit(target, passes=1, grace_s=0).levels_off) == 2, "one location of each low"
        catalog_run()
        assert len(audit(target, passes=1, grace_s=0).levels_off) == 2, "held until staged past"
        stage_past_holds(order_steps, warehouse)
        catalog_run()

    report = audit(target, passes=1, grace_s=0)
    assert report.levels_off == [], report.levels_off
    assert report.clean and report.orders_in_store == 1, report.summary()


def test_an_order_split_over_two_locations_is_held_back_at_both_by_the_next_run_before_the_erp_books_it(
        order_steps, store, shop, erp_settings, warehouse, target):
    """Until the ERP books a split order (in one warehouse, which the store cannot know), its units are
    held back at every location. The store lowered only the location each line was taken from: the next
    catalog run must lower the other one too, from the order's staging alone (the ERP's figures have not
    moved: it may be down), and raise it again when the order is cancelled. Found by the chaos suite: a
    split order's SKU stayed over at its other location until the ERP's stock moved, minutes later."""
    from tests.support.audit import audit
    from tests.support.offers import offered_at

    def catalog_run() -> None:
        CatalogSteps(erp=erp_settings.client(), store=shop, engine=warehouse).run()

    skus = stocked_mostly_at_each_location(shop, elsewhere=2)
    before = {sku: offered_at(shop, sku) for sku in skus}
    assert all(len(levels) == 2 and min(levels.values()) >= 2 for levels in before.values()), before
    past_last_write(warehouse)
    order = place(store, [{"sku": sku, "quantity": 1} for sku in skus], email="split@example.com")
    assert len({f.location_id for f in shop.fulfillment_orders([order["id"]])[order["id"]]}) == 2
    after_sale = {sku: offered_at(shop, sku) for sku in skus}
    sold_at = {sku: {name: units - after_sale[sku][name] for name, units in before[sku].items()} for sku in skus}
    assert sorted(sorted(units.values()) for units in sold_at.values()) == [[0, 1], [0, 1]], sold_at

    assert order_steps.extract_and_stage()["staged"].staged == 1
    catalog_run()  # not booked: nothing moved in the ERP
    held = {sku: offered_at(shop, sku) for sku in skus}
    lowered = {sku: {name: units - 1 for name, units in before[sku].items()} for sku in skus}
    assert held == lowered, (before, held)
    report = audit(target, passes=1, grace_s=3600)
    assert report.clean and report.levels_checked and report.orders_in_store == 1, report.summary()

    store.admin("POST", f"/orders/{number(order)}/cancel", {"reason": "CUSTOMER", "restock": True})
    assert order_steps.extract_and_stage()["staged"].staged == 1
    catalog_run()
    assert {sku: offered_at(shop, sku) for sku in skus} == before
    assert audit(target, passes=1, grace_s=3600).clean


def test_a_level_written_low_on_an_order_of_the_same_second_is_written_up_by_the_next_run(
        order_steps, store, shop, admin, erp_settings, warehouse, target):
    """The store stamps whole seconds: an order of the same second as our last write of a level may have
    been before or after it, so the compare-and-swap takes its units off once more (never oversell) and
    holds them. The level is then low; it must not stay low until a reconciliation: the first run after
    the order staging has read past that write writes it up."""
    from erpsync.sync.state import publish_due
    from erpsync.warehouse.schema import published_inventory
    from tests.support.audit import audit

    past_last_write(warehouse)
    (sku,) = in_stock(shop, 1)
    place(store, [{"sku": sku, "quantity": 1}], email="same.second@example.com")
    book_and_wait_until_counted(order_steps, warehouse)
    with warehouse.begin() as conn:  # as if the store had applied our last writes of it in the order's second
        created = conn.execute(select(stg_order.c.store_created_at)).scalar_one()
        conn.execute(published_inventory.update().where(published_inventory.c.sku == sku)
                     .values(store_confirmed_at=created))
    catalog = CatalogSteps(erp=erp_settings.client(), store=shop, engine=warehouse)
    catalog.run()
    low = audit(target, passes=1, grace_s=0)
    assert [(lvl["sku"], lvl["store"] - lvl["desired"]) for lvl in low.levels_off] == [(sku, -1)]
    with warehouse.connect() as conn:
        assert set(publish_due.due(conn, store=shop.name, step=publish_due.INVENTORY)) == {sku}, "in flight"
    catalog.run()
    assert len(audit(target, passes=1, grace_s=0).levels_off) == 1, "held until the staging reads past it"

    stage_past_holds(order_steps, warehouse)
    catalog.run()
    report = audit(target, passes=1, grace_s=0)
    assert report.clean, report.summary()
    with warehouse.connect() as conn:
        assert publish_due.due(conn, store=shop.name, step=publish_due.INVENTORY) == {}


def test_a_refund_restocking_a_shipped_line_leaves_the_store_at_what_the_erp_allows(
        order_steps, store, shop, admin, erp_settings, warehouse, target):
    """A refund with restock of a shipped line puts the unit back on the store's shelf at once; the ERP
    counts it only when it receives the return (its return sale's incoming goods raise what it forecasts,
    not what it has on hand). Until then the store must offer what the ERP allows, not the unit more:
    it stayed one over until the next reconciliation (found in CI's chaos run: SCF-0007-OLV at Central).
    The SKU is one the ERP promises nothing of, so the return cannot raise what it allows."""
    from tests.support.audit import audit
    from tests.support.offers import offered_at

    def catalog_run() -> None:
        CatalogSteps(erp=erp_settings.client(), store=shop, engine=warehouse).run()

    # The ERP serves the whole session: earlier tests left sales it promises; take a SKU it promises none of.
    sku = next(sku for sku in stocked_mostly_at(shop, 0, elsewhere=2) if unpromised(admin, sku))
    past_last_write(warehouse)
    order = place(store, [{"sku": sku, "quantity": 2}], email="returns@example.com")
    book_and_wait_until_counted(order_steps, warehouse)
    (sale,) = erp_sales(admin, [order["id"]]).values()
    ship(admin, sale["id"], tracking="1Z999AA10123456802")
    assert order_steps.fulfill().fulfilled == 1
    catalog_run()
    booked, allowed = offered_at(shop, sku), erp_allows(admin, sku)
    assert audit(target, passes=1, grace_s=0).clean

    past_last_write(warehouse)
    store.admin("POST", f"/orders/{number(order)}/refund",
                {"lines": [{"sku": sku, "quantity": 1, "restock": True}]})
    restocked = offered_at(shop, sku)
    assert sum(restocked.values()) == sum(booked.values()) + 1, (booked, restocked)
    assert order_steps.run()["changes"].refunds == 1
    returns = admin.model("sale.sale", "search_read", [("web_id", "like", f"{order['id']}#refund:%")],
                          0, None, None, ["lines"])
    assert len(returns) == 1, returns
    assert erp_allows(admin, sku) == allowed, "the ERP expects the unit back, does not have it yet"
    catalog_run()
    assert offered_at(shop, sku) == booked
    report = audit(target, passes=1, grace_s=0)
    assert report.clean and report.levels_checked, report.summary()


def test_a_refund_is_booked_when_its_money_moved_never_while_pending_never_when_refused(
        order_steps, store, shop, admin):
    """A refund whose transaction the store's gateway has not answered gives nothing back yet: booked as a
    return sale only when the answer is a success (which changes the order, so the next run reads it); a
    refused one is never booked. Counted as the ERP's sales, each run twice."""
    (sku,) = in_stock(shop, 1)
    order = place(store, [{"sku": sku, "quantity": 3}], email="pending.refund@example.com")
    order_steps.run()
    body = {"lines": [{"sku": sku, "quantity": 1, "restock": False}], "transaction": "pending"}
    paid, refused = (store.admin("POST", f"/orders/{number(order)}/refund", body)["refund_id"]
                     for _ in range(2))

    def returns() -> list[str]:
        return sorted(row["web_id"] for row in admin.model(
            "sale.sale", "search_read", [("web_id", "like", f"{order['id']}#refund:%")], 0, None, None,
            ["web_id"]))

    for _ in range(2):
        changes = order_steps.run()["changes"]
        assert (changes.refunds, changes.refunds_waiting, changes.refunds_failed) == (0, 2, 0)
    assert returns() == [], "nothing given back yet: nothing booked"

    for refund, status in ((paid, "SUCCESS"), (refused, "FAILURE")):
        store.admin("POST", f"/orders/{number(order)}/refunds/{refund.rsplit('/', 1)[1]}/settle",
                    {"status": status})
    first, second = order_steps.run()["changes"], order_steps.run()["changes"]
    assert (first.refunds, first.refunds_waiting, first.refunds_failed) == (1, 0, 1)
    assert (second.refunds, second.refunds_waiting, second.refunds_failed) == (0, 0, 1)
    assert returns() == [f"{order['id']}#refund:{paid}"]


def unpromised(admin: TrytonClient, sku: str) -> bool:
    """Whether the ERP promises none of ``sku`` in the shop's warehouses (forecast = on hand): a return it
    expects then raises only its forecast, not what it allows."""
    return all(quantity == forecast for quantity, forecast in _erp_stock(admin, sku).values())


def erp_allows(admin: TrytonClient, sku: str) -> dict[str, float]:
    """Warehouse code -> what the ERP allows of ``sku`` there: on hand and not promised."""
    return {code: min(quantity, forecast) for code, (quantity, forecast) in _erp_stock(admin, sku).items()}


def _erp_stock(admin: TrytonClient, sku: str) -> dict[str, tuple[float, float]]:
    (product,) = admin.model("product.product", "search", [("code", "=", sku)])
    stock = {}
    for warehouse in admin.web_shop.warehouses:
        (row,) = admin.model("product.product", "read", [product], ["quantity", "forecast_quantity"],
                             context={"locations": [warehouse.id]})
        stock[warehouse.code] = (row["quantity"], row["forecast_quantity"])
    return stock


def past_last_write(warehouse) -> None:
    """Wait until the store's clock (whole seconds) is past the second of our last inventory write."""
    from erpsync.warehouse.schema import published_inventory

    with warehouse.connect() as conn:
        last = conn.execute(select(func.max(published_inventory.c.store_confirmed_at))).scalar_one()
    if last is None:  # no level the store stamped
        return
    wait_for(lambda: dt.datetime.now(dt.UTC) >= last + dt.timedelta(seconds=1), timeout_s=10,
             what="a second past our last inventory write", interval_s=0.05)


def stage_past_holds(order_steps, warehouse, lag: dt.timedelta = dt.timedelta(seconds=1)) -> None:
    """Run the order staging once the store's clock is ``lag`` (CatalogSteps' order lag) and a second past
    its last stamp of our writes and reads: every hold a stale compare left is then over."""
    from erpsync.warehouse.schema import published_inventory

    with warehouse.connect() as conn:
        last = conn.execute(select(func.max(published_inventory.c.store_confirmed_at))).scalar_one()
    if last is not None:
        wait_for(lambda: dt.datetime.now(dt.UTC) > last + lag + dt.timedelta(seconds=1), timeout_s=10,
                 what="the order lag past our last write", interval_s=0.05)
    order_steps.extract_and_stage()


def book_and_wait_until_counted(order_steps, warehouse) -> None:
    """Book the staged orders, then wait until a stock read of the ERP counts their sales (a read in the
    ERP's second of the confirmation holds them back once more, the safe side)."""
    order_steps.extract_and_stage()
    assert order_steps.book(run_id="test").confirmed >= 1
    with warehouse.connect() as conn:
        counted_from = conn.execute(select(func.max(order_ledger.c.erp_confirmed_at))).scalar_one()
    wait_for(lambda: dt.datetime.now(dt.UTC) > counted_from, timeout_s=10, what="the ERP's clock past the sale",
             interval_s=0.05)


def test_an_order_with_a_line_refunded_before_shipping_is_fulfilled_with_what_is_left(order_steps, store, shop, admin,
                                                                                     warehouse):
    """A refunded (cancelled) line is no longer fulfillable: asking the store to fulfil it was refused
    ("Invalid fulfillment order line item quantity requested") on every run, for ever."""
    kept, refunded = in_stock(shop, 2)
    order = place(store, [{"sku": kept, "quantity": 2}, {"sku": refunded, "quantity": 1}], email="part@example.com")
    order_steps.run()
    store.admin("POST", f"/orders/{number(order)}/refund", {"lines": [{"sku": refunded, "quantity": 1, "restock": True}]})
    order_steps.run()
    (sale,) = erp_sales(admin, [order["id"]]).values()
    ship(admin, sale["id"], tracking="1Z999AA10123456800")

    first = order_steps.fulfill()
    second = order_steps.fulfill()
    assert (first.fulfilled, first.failed, second.fulfilled, second.failed) == (1, 0, 0, 0)
    from erpsync.shopify.operations import Operation

    shipped = shop.client.execute(Operation("Shipped", "query", """
        query Shipped($id: ID!) { order(id: $id) { lineItems(first: 5) { nodes { sku quantity unfulfilledQuantity } }
                                                 fulfillments(first: 5) { id } } }"""), {"id": order["id"]})["order"]
    assert len(shipped["fulfillments"]) == 1
    assert {line["sku"]: line["unfulfilledQuantity"] for line in shipped["lineItems"]["nodes"]} == {kept: 0, refunded: 0}
    assert ledger_states(warehouse)[order["id"]] == "fulfilled"


def test_a_refused_fulfillment_waits_for_its_retry(order_steps, store, shop, admin, warehouse):
    """The error queue's backoff holds for fulfillments: a refused order is not asked again before its
    next attempt is due (it went from 13 to 42 attempts in 14 minutes in the demo)."""
    from erpsync.sync.state.row_errors import RowFailure, record_failures

    (sku,) = in_stock(shop, 1)
    order = place(store, [{"sku": sku, "quantity": 1}], email="later@example.com")
    order_steps.run()
    (sale,) = erp_sales(admin, [order["id"]]).values()
    ship(admin, sale["id"], tracking="1Z999AA10123456801")
    failed_at = dt.datetime.now(dt.UTC)
    with warehouse.begin() as conn:  # as a refused attempt leaves it: the first retry is due 30 s later
        record_failures(conn, store=shop.name, flow="orders", entity="order", operation="fulfill", run_id="earlier",
                        now=failed_at, failures=[RowFailure(order["id"], "StoreRequestError", "fulfillmentCreate: refused")])

    early = order_steps.fulfill(now=failed_at + dt.timedelta(seconds=10))
    assert (early.shipped, early.fulfilled, early.failed) == (0, 0, 0), "not asked before its retry is due"
    assert all(not f.fulfillment_ids for f in shop.fulfillment_orders([order["id"]])[order["id"]])
    due = order_steps.fulfill(now=failed_at + dt.timedelta(seconds=31))
    assert (due.shipped, due.fulfilled, due.failed) == (1, 1, 0)
    assert ledger_states(warehouse)[order["id"]] == "fulfilled"


def stocked_mostly_at_each_location(shop, elsewhere: int = 0) -> list[str]:
    """For each of two store locations, a SKU with more stock there than anywhere else (the store
    assigns a line to the location with the most stock); ``elsewhere``: at least that many at the other."""
    picked: list[str] = []
    for here in range(2):
        picked.append(next(sku for sku in stocked_mostly_at(shop, here, elsewhere) if sku not in picked))
    return picked


def stocked_mostly_at(shop, here: int, elsewhere: int = 0) -> list[str]:
    """The SKUs with at least 3 at the store's location number ``here`` (0 or 1) and more than at the
    other, which has at least ``elsewhere``."""
    variants = {v.inventory_item_id: v.sku for page in shop.iter_variants() for v in page if v.product_status == "ACTIVE"}
    locations = [loc.id for loc in shop.locations()][:2]
    levels: dict[str, dict[str, int]] = {}
    for level in shop.inventory_levels(list(variants), locations):
        levels.setdefault(level.inventory_item_id, {})[level.location_id] = level.available
    at, there = locations[here], locations[1 - here]
    return [variants[item] for item, units in levels.items()
            if units.get(at, 0) >= 3 and units.get(at, 0) > units.get(there, 0) >= elsewhere]


def ship(admin: TrytonClient, sale_id: int, *, tracking: str) -> None:
    """Ship a confirmed sale in the ERP as the warehouse does, with this tracking number."""
    from sandbox.tryton.shipper import ship as ship_shipments

    (sale,) = admin.model("sale.sale", "read", [sale_id], ["shipments"])
    admin.model("stock.shipment.out", "write", sale["shipments"], {"reference": tracking})
    ship_shipments(admin, sale["shipments"])


def test_an_order_whose_customer_the_erp_refuses_fails_alone_and_the_batch_goes_on(
        order_steps, store, shop, admin, warehouse):
    """The ERP creates a batch's new parties in one call, all or none. Here it refuses every new party (its
    party code sequence points at a code in use, as seen when two bookers raced on a busy ERP): the order
    of a customer the ERP knows is booked all the same, the new customer's order fails alone with its
    reason, and it is booked once the ERP accepts the party again."""
    skus = in_stock(shop, 2)
    n = uuid.uuid4().hex[:8]
    first = place(store, [{"sku": skus[0], "quantity": 1}], email=f"known-{n}@example.com")
    order_steps.extract_and_stage()
    assert order_steps.book(run_id="first").confirmed == 1
    known = place(store, [{"sku": skus[0], "quantity": 1}], email=f"known-{n}@example.com")
    new = place(store, [{"sku": skus[1], "quantity": 1}], email=f"new-{n}@example.com")
    order_steps.extract_and_stage()

    (config,) = admin.model("party.configuration", "read", [1], ["party_sequence"])
    (sequence,) = admin.model("ir.sequence", "read", [config["party_sequence"]], ["number_next"])
    (used,) = admin.model("party.party", "search_read", [], 0, 1, [("id", "ASC")], ["code"])
    admin.model("ir.sequence", "write", [sequence["id"]], {"number_next": int(used["code"])})
    try:
        refused = order_steps.book(run_id="refused")  # no exception: the task goes on
    finally:
        admin.model("ir.sequence", "write", [sequence["id"]], {"number_next": sequence["number_next"]})

    assert refused.confirmed == 1 and refused.failed == 1, refused
    assert sales_per_order(admin, [known["id"], new["id"]]) == {known["id"]: 1}
    with warehouse.connect() as conn:
        state, error = conn.execute(select(order_ledger.c.state, order_ledger.c.last_error).where(
            order_ledger.c.store_order_id == new["id"])).one()
    assert state == "failed" and "the ERP refused its customer" in error and "#" in error, error
    assert ledger_states(warehouse)[known["id"]] == "confirmed"

    later = order_steps.book(run_id="later", now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert later.confirmed == 1 and later.failed == 0, later
    assert sales_per_order(admin, [first["id"], known["id"], new["id"]]) == {
        first["id"]: 1, known["id"]: 1, new["id"]: 1}, "one sale each"
