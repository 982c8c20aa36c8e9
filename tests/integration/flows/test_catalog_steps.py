"""The catalog flow's steps against the real ERP, the store emulator and both warehouse engines:
cursor boundaries, a sale between extract and publish, the error queue under store faults."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erpsync.common.retry import Backoff
from erpsync.shopify.settings import ShopifySettings
from erpsync.store.errors import StoreTransportError
from erpsync.store.records import InventoryChange
from erpsync.sync.catalog import publish as catalog_publish
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.schema import (
    order_ledger, publish_due, published_inventory, raw_record, row_error, sync_cursor)
from sandbox.airflow_local import wait_for
from tests.support.clock import SkewedClock
from tests.support.erp import receive

pytestmark = pytest.mark.erp


def landed(engine, batch_id: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(raw_record.c.record_key).where(raw_record.c.batch_id == batch_id)).scalars())


# -- cursor boundaries ------------------------------------------------------------------------------

class PagingErp(TrytonClient):
    """The real client, small pages, and a hook to change the ERP while the read is between pages."""

    def __init__(self, base: TrytonClient, on_first_page=None):
        super().__init__(base.rpc, web_shop=base.web_shop_name, page_size=4)
        self.on_first_page = on_first_page

    def iter_changed_products(self, window, **options):
        for number, page in enumerate(super().iter_changed_products(window, **options)):
            yield page
            if number == 0 and self.on_first_page:
                self.on_first_page(page)


def test_same_timestamps_page_boundaries_and_changes_during_the_read(catalog_steps, admin, warehouse):
    catalog_steps.extract_and_stage(full=True)
    ids = [p["id"] for p in admin.model("product.product", "search_read", [("active", "=", True)], 200, 10,
                                        [("id", "ASC")], ["code"])]
    admin.model("product.product", "write", ids, {"description": f"same stamp {uuid.uuid4().hex}"})
    codes = {p["code"] for p in admin.model("product.product", "read", ids, ["code"])}

    late: list[str] = []

    def change_one_not_read_yet(page):
        not_read = sorted(codes - {p.sku for p in page})[0]
        (product,) = admin.model("product.product", "search", [("code", "=", not_read)], 0, 1, None)
        admin.model("product.product", "write", [product], {"description": "changed during the read"})
        late.append(not_read)

    catalog_steps.erp = PagingErp(catalog_steps.erp, on_first_page=change_one_not_read_yet)
    first = catalog_steps.extract_and_stage()
    first_keys = landed(warehouse, first["products"].batch_id)
    assert len(first_keys) == len(set(first_keys)), "nothing doubled inside a read"
    assert codes - set(late) <= set(first_keys), "every record with the shared timestamp, across pages"

    catalog_steps.erp.on_first_page = None
    second = catalog_steps.extract_and_stage()
    assert late[0] in landed(warehouse, second["products"].batch_id), "the change made during the read"
    with warehouse.connect() as conn:
        assert conn.execute(select(sync_cursor.c.cursor_at).where(sync_cursor.c.entity == "product")
                            ).scalar_one() == second["products"].window_end


def test_a_failed_staging_leaves_the_cursor_where_it_was(catalog_steps, warehouse, monkeypatch):
    staged = catalog_steps.extract_and_stage(full=True)
    cursor = staged["staged_products"].cursor_at

    from erpsync.sync.catalog import stage as catalog_stage

    def broken(*args, **kwargs):
        raise RuntimeError("the warehouse went away")

    monkeypatch.setattr(catalog_stage.db, "upsert", broken)
    with pytest.raises(RuntimeError):
        catalog_steps.extract_and_stage()
    monkeypatch.undo()
    with warehouse.connect() as conn:
        assert conn.execute(select(sync_cursor.c.cursor_at).where(sync_cursor.c.entity == "product")
                            ).scalar_one() == cursor


# -- never oversell ---------------------------------------------------------------------------------

def _sold_from(shop, location_name: str):
    """An active variant the store sells from ``location_name``: it sells from the location with the most
    stock (products are created several at a time, so which variant comes first varies)."""
    variants = [v for page in shop.iter_variants() for v in page if v.product_status == "ACTIVE"]
    location = next(loc.id for loc in shop.locations() if loc.name == location_name)
    levels: dict[str, dict[str, int]] = {}
    for lvl in shop.inventory_levels([v.inventory_item_id for v in variants], [loc.id for loc in shop.locations()]):
        levels.setdefault(lvl.inventory_item_id, {})[lvl.location_id] = lvl.available
    return next(v for v in variants if (at := levels.get(v.inventory_item_id, {})).get(location, 0) >= 5
                and at[location] > max(q for loc, q in at.items() if loc != location))


def test_a_sale_between_extract_and_publish_is_not_overwritten(catalog_steps, admin, store, shop):
    catalog_steps.run(full=True)
    main = admin.web_shop.warehouses[0]
    variant = _sold_from(shop, main.name)
    (product,) = admin.model("product.product", "search", [("code", "=", variant.sku)], 0, 1, None)

    receive(admin, product, main.id, Decimal(20))  # the ERP has 20 more...
    staged = catalog_steps.extract_and_stage()
    before = store.admin("GET", f"/inventory?sku={variant.sku}")["levels"][main.name]["available"]
    store.admin("POST", "/orders", {"lines": [{"sku": variant.sku, "quantity": 1}]})  # ...and the store sells 1
    assert store.admin("GET", f"/inventory?sku={variant.sku}")["levels"][main.name]["available"] == before - 1

    result = catalog_steps.publish(staged, "publish_inventory")

    assert result.recomputed >= 1 and result.failed == 0
    assert store.admin("GET", f"/inventory?sku={variant.sku}")["levels"][main.name]["available"] == before + 20 - 1


def test_a_sale_the_order_flow_has_not_staged_stays_taken_off_by_every_later_publish(
        catalog_steps, admin, store, shop, erp_settings, warehouse):
    """The store sold 2, the order flow has not staged that order yet, and the ERP changes the SKU twice.
    The first publish finds the store's level moved (a stale compare) and takes the 2 off what the ERP
    allows. The second must not give them back: it compares with the store's figure, which matches, and
    the ERP's figure does not hold the order back yet. Nor may the publishes once the order is staged."""
    from tests.integration.flows.test_order_steps import past_last_write
    from tests.support.flows import OrderSteps

    catalog_steps.run(full=True)
    main = admin.web_shop.warehouses[0]
    variant = _sold_from(shop, main.name)
    (product,) = admin.model("product.product", "search", [("code", "=", variant.sku)], 0, 1, None)
    level = lambda: store.admin("GET", f"/inventory?sku={variant.sku}")["levels"][main.name]["available"]  # noqa: E731
    before = level()
    past_last_write(warehouse)  # an order of the second of our write is in doubt: held until staged past
    order = store.admin("POST", "/orders", {"lines": [{"sku": variant.sku, "quantity": 2}],
                                            "email": "unstaged@example.com"})
    assert level() == before - 2
    # The store stamps whole seconds: an order of the second of the read that finds the drop may have come
    # after it, and is not taken as one that explains it (held until the order staging reads past it).
    placed = dt.datetime.fromisoformat(order["created_at"])
    wait_for(lambda: dt.datetime.now(dt.UTC) >= placed + dt.timedelta(seconds=1), timeout_s=10,
             what="the store's second after the order", interval_s=0.05)

    receive(admin, product, main.id, Decimal(3))
    first = catalog_steps.publish(catalog_steps.extract_and_stage(), "publish_inventory")
    assert (first.recomputed, first.applied, first.failed) == (1, 1, 0)
    assert level() == before + 3 - 2
    receive(admin, product, main.id, Decimal(4))
    second = catalog_steps.publish(catalog_steps.extract_and_stage(), "publish_inventory")
    assert (second.applied, second.failed) == (1, 0)
    assert level() == before + 3 + 4 - 2, "the unstaged order's 2 units stay sold"

    OrderSteps(erp=erp_settings.client(), store=shop, engine=warehouse).extract_and_stage()
    receive(admin, product, main.id, Decimal(1))
    third = catalog_steps.publish(catalog_steps.extract_and_stage(), "publish_inventory")
    assert (third.applied, third.failed) == (1, 0)
    assert level() == before + 3 + 4 + 1 - 2, "staged, the order is held back once, not twice"


def test_a_drop_no_order_explains_is_held_until_the_order_staging_reads_past_it(
        catalog_steps, admin, store, shop, erp_settings, warehouse):
    """Someone took 3 off in the store's admin (a count), not a sale: a stale compare cannot tell, and holds
    them off. Once the order staging has read past that moment, no order explains them: the SKU, looked at
    again by each run while held, comes back to what the ERP allows (the ERP is the master of stock), and
    the hold is lifted."""
    from tests.integration.flows.test_order_steps import past_last_write
    from tests.support.flows import OrderSteps

    catalog_steps.run(full=True)
    main = admin.web_shop.warehouses[0]
    variant = _sold_from(shop, main.name)
    (product,) = admin.model("product.product", "search", [("code", "=", variant.sku)], 0, 1, None)
    location = _location(shop, main.name)
    level = lambda: store.admin("GET", f"/inventory?sku={variant.sku}")["levels"][main.name]["available"]  # noqa: E731
    before = level()
    past_last_write(warehouse)
    assert shop.set_inventory([InventoryChange(variant.inventory_item_id, location, before - 3, before)],
                              idempotency_key=f"count-{uuid.uuid4().hex}")[0].applied

    def hold() -> tuple:
        with warehouse.connect() as conn:
            return conn.execute(select(published_inventory.c.held_units, published_inventory.c.held_until).where(
                published_inventory.c.sku == variant.sku, published_inventory.c.location_key == location)).one()

    def due() -> bool:
        with warehouse.connect() as conn:
            return conn.execute(select(func.count()).select_from(publish_due).where(
                publish_due.c.sku == variant.sku, publish_due.c.step == "publish_inventory")).scalar_one() > 0

    receive(admin, product, main.id, Decimal(2))
    catalog_steps.publish(catalog_steps.extract_and_stage(), "publish_inventory")
    assert level() == before + 2 - 3
    held, until = hold()
    assert held == 3 and until is not None
    # The order staging reads up to now, but a lag of two minutes of its window is read again: still held.
    orders = OrderSteps(erp=erp_settings.client(), store=shop, engine=warehouse)
    orders.extract_and_stage()
    receive(admin, product, main.id, Decimal(1))
    catalog_steps.publish(catalog_steps.extract_and_stage(), "publish_inventory", order_lag=dt.timedelta(minutes=2))
    assert level() == before + 3 - 3
    assert hold()[0] == 3
    assert due(), "looked at again by the next run"

    # Read past it (no lag): nothing explains the 3. No ERP change: the SKU is looked at because it was held.
    wait_for(lambda: dt.datetime.now(dt.UTC) > until + dt.timedelta(seconds=1), timeout_s=10,
             what="a second past the hold", interval_s=0.05)
    orders.extract_and_stage()
    result = catalog_steps.publish(catalog_steps.extract_and_stage(), "publish_inventory", order_lag=dt.timedelta(0))
    assert (result.applied, result.failed) == (1, 0)
    assert level() == before + 3, "what the ERP allows"
    assert hold() == (None, None), "lifted"
    assert not due(), "no longer looked at"


def test_stock_added_in_the_store_is_never_added_to_what_the_erp_allows(catalog_steps, admin, store, shop):
    catalog_steps.run(full=True)
    main = admin.web_shop.warehouses[0]
    variant = _sold_from(shop, main.name)
    (product,) = admin.model("product.product", "search", [("code", "=", variant.sku)], 0, 1, None)
    location = next(loc.id for loc in shop.locations() if loc.name == main.name)

    receive(admin, product, main.id, Decimal(20))  # the ERP has 20 more...
    staged = catalog_steps.extract_and_stage()
    before = store.admin("GET", f"/inventory?sku={variant.sku}")["levels"][main.name]["available"]
    # ...and someone adds 5 in the store's admin (another app, a hand count) before we publish.
    assert shop.set_inventory([InventoryChange(variant.inventory_item_id, location, before + 5, before)],
                              idempotency_key=f"by-hand-{uuid.uuid4().hex}")[0].applied

    result = catalog_steps.publish(staged, "publish_inventory")

    assert result.recomputed >= 1 and result.failed == 0
    # What the ERP allows (what we had published, plus the 20 received), not 5 more.
    assert store.admin("GET", f"/inventory?sku={variant.sku}")["levels"][main.name]["available"] == before + 20
    with catalog_steps.engine.connect() as conn:
        quantity, stamped = conn.execute(
            select(published_inventory.c.quantity, published_inventory.c.store_confirmed_at).where(
                published_inventory.c.sku == variant.sku, published_inventory.c.location_key == location)).one()
    assert quantity == before + 20 and stamped is not None, "recorded with the store's time of the write"


@pytest.mark.parametrize("skew_s", [-30, 30], ids=["worker-clock-behind", "worker-clock-ahead"])
def test_a_sale_the_flow_already_knows_of_is_taken_off_once_whatever_the_workers_clock(
        catalog_steps, admin, store, shop, erp_settings, warehouse, monkeypatch, skew_s):
    """The store sold 2 and the order flow staged that order (its units are pending) before the next
    publish of the SKU: the desired level already holds them back, so the compare-and-swap retry must
    not take them off a second time (it would undersell until the SKU changes again). Which sales a write
    knew of is decided by the store's clock alone: a worker's clock half a minute off changes nothing."""
    from tests.support.flows import OrderSteps

    skewed = SkewedClock(dt.timedelta(seconds=skew_s))
    monkeypatch.setattr(catalog_publish, "dt", skewed)
    worker_now = lambda: skewed.datetime.now(dt.UTC)  # noqa: E731
    catalog_steps.publish(catalog_steps.extract_and_stage(full=True), "publish_content", now=worker_now())
    main = admin.web_shop.warehouses[0]
    variant = _sold_from(shop, main.name)
    (product,) = admin.model("product.product", "search", [("code", "=", variant.sku)], 0, 1, None)
    level = lambda: store.admin("GET", f"/inventory?sku={variant.sku}")["levels"][main.name]["available"]  # noqa: E731
    before = level()
    # The store stamps whole seconds: a sale in the same second as our write is in doubt (taken off again:
    # the safe side). This one comes in a later second, by the store's clock.
    with warehouse.connect() as conn:
        written = conn.execute(select(published_inventory.c.store_confirmed_at).where(
            published_inventory.c.sku == variant.sku, published_inventory.c.location_key == _location(shop, main.name))
        ).scalar_one()
    assert written is not None, "the store stamped the write of the level"
    wait_for(lambda: dt.datetime.now(dt.UTC) >= written + dt.timedelta(seconds=1), timeout_s=30,
             what="the store's next second")
    store.admin("POST", "/orders", {"lines": [{"sku": variant.sku, "quantity": 2}], "email": "known@example.com"})
    assert level() == before - 2
    OrderSteps(erp=erp_settings.client(), store=shop, engine=warehouse).extract_and_stage()  # pending: 2

    receive(admin, product, main.id, Decimal(5))  # the ERP changes the SKU: it is published again
    result = catalog_steps.publish(catalog_steps.extract_and_stage(), "publish_inventory", now=worker_now())
    assert result.failed == 0 and result.recomputed == 1
    assert level() == before + 5 - 2


def _location(shop, name: str) -> str:
    return next(loc.id for loc in shop.locations() if loc.name == name)


# -- faults -----------------------------------------------------------------------------------------

def test_after_store_faults_the_next_run_converges_and_the_error_queue_empties(catalog_steps, store, shop, warehouse,
                                                                                admin):
    catalog_steps.run(full=True)
    templates = admin.model("product.template", "search_read", [("active", "=", True), ("salable", "=", True)],
                            30, 8, [("id", "ASC")], ["list_price", "products"])
    for template in templates:
        admin.model("product.template", "write", [template["id"]],
                    {"list_price": (template["list_price"] * Decimal("1.1")).quantize(Decimal("0.01"))})
        receive(admin, template["products"][0], admin.web_shop.warehouses[0].id, Decimal(3))
    store.admin("PUT", "/faults", {"seed": 3, "rules": [
        {"kind": "error_5xx", "rate": 1.0, "status": 502, "match": "productVariantsBulkUpdate"},
        {"kind": "throttle_storm", "rate": 0.5, "match": "inventorySetQuantities"},
        {"kind": "timeout", "rate": 0.5, "hold_seconds": 1.5, "match": "inventorySetQuantities"},
    ]})
    catalog_steps.store = ShopifySettings(shop_url=store.url, access_token=store.token(), read_timeout_s=0.8).store(
        backoff=Backoff(attempts=4, base_s=0.05, max_s=0.2))
    staged = catalog_steps.extract_and_stage()
    with pytest.raises(StoreTransportError, match="queued in row_error"):  # every price call fails (502)
        catalog_steps.publish(staged, "publish_prices")
    inventory = catalog_steps.publish(staged, "publish_inventory")  # timeouts and throttling: retried, applied once
    assert inventory.failed == 0 and inventory.applied >= 8
    with warehouse.connect() as conn:
        queued = conn.execute(select(func.count()).select_from(row_error).where(
            row_error.c.status == "open", row_error.c.operation == "publish_prices")).scalar_one()
    assert queued >= 8, "the failed prices wait in the error queue, not lost with the failed step"

    store.admin("DELETE", "/faults")
    catalog_steps.store = shop
    # The next runs retry the queue once the backoff has passed.
    converged = catalog_steps.run(now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    assert converged["publish_prices"].applied >= 8, "the prices the faults kept out are published now"
    again = catalog_steps.run(now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10))
    assert sum(again[step].changed for step in ("publish_content", "publish_prices", "publish_inventory")) == 0
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(row_error).where(row_error.c.status == "open")
                            ).scalar_one() == 0


def test_content_published_several_calls_at_once_survives_lost_answers_without_duplicates(
        catalog_steps, store, shop, warehouse):
    # Four productSet calls in flight; a fifth of them is applied by the store but its answer is lost
    # (a create is not repeated then), a fifth is refused with a 502 before it runs.
    catalog_steps.config = catalog_steps.config.model_copy(update={"content_concurrency": 4})
    store.admin("PUT", "/faults", {"seed": 5, "rules": [
        {"kind": "drop_after", "rate": 0.2, "match": "productSet"},
        {"kind": "error_5xx", "rate": 0.2, "status": 502, "match": "productSet"},
    ]})
    catalog_steps.store = ShopifySettings(shop_url=store.url, access_token=store.token()).store(
        backoff=Backoff(attempts=2, base_s=0.01, max_s=0.02))
    first = catalog_steps.run(full=True)["publish_content"]
    assert first.applied and first.failed, "the faults hit some calls and not others"
    assert first.applied + first.failed == first.changed
    with warehouse.connect() as conn:
        queued = conn.execute(select(func.count()).select_from(row_error).where(
            row_error.c.status == "open", row_error.c.operation == "publish_content")).scalar_one()
    assert queued >= first.failed, "each failed product's variants wait in the error queue"

    store.admin("DELETE", "/faults")
    catalog_steps.store = shop
    second = catalog_steps.run(now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))["publish_content"]
    assert second.failed == 0 and second.applied + second.discovered >= first.failed
    third = catalog_steps.run(now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10))["publish_content"]
    assert third.changed == 0
    products = store.admin("GET", "/state")["counts"]["products"]
    assert products == first.changed, "every template once in the store: no product created twice"
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(row_error).where(row_error.c.status == "open")
                            ).scalar_one() == 0


def test_inventory_worked_out_a_chunk_at_a_time_is_written_early_and_once(catalog_steps, shop, warehouse, monkeypatch):
    """The levels are worked out 7 SKUs at a time here (1,000 in production): the first write goes out
    before the last chunk is worked out, calls still carry 250 levels, and each level is written once."""
    catalog_steps.run(full=True)
    catalog_steps.config = catalog_steps.config.model_copy(update={"safety_stock": catalog_steps.config.safety_stock + 1})
    monkeypatch.setattr(catalog_publish, "PREPARE_SKUS", 7)
    events: list[tuple[str, list[tuple[str, str]]]] = []
    worked_out, written = catalog_publish._inventory_changes, catalog_publish._write_levels

    def chunk(run, skus, *args):
        events.append(("chunk", list(skus)))
        return worked_out(run, skus, *args)

    def write(run, result, batch, number):
        events.append(("write", [(lvl.sku, lvl.location_id) for lvl in batch]))
        return written(run, result, batch, number)

    monkeypatch.setattr(catalog_publish, "_inventory_changes", chunk)
    monkeypatch.setattr(catalog_publish, "_write_levels", write)
    staged = catalog_steps.extract_and_stage()
    result = catalog_steps.publish(staged, "publish_inventory", full=True)

    writes = [levels for kind, levels in events if kind == "write"]
    chunks = [skus for kind, skus in events if kind == "chunk"]
    assert len(writes) >= 3 and all(len(levels) == 250 for levels in writes[:-1]) and len(writes[-1]) <= 250
    assert len(chunks) > 50 and all(len(skus) <= 7 for skus in chunks)
    kinds = [kind for kind, _ in events]
    last_chunk = len(kinds) - 1 - kinds[::-1].index("chunk")
    assert kinds.index("write") < last_chunk, "the first write waited until every chunk was worked out"
    levels = [level for batch in writes for level in batch]
    assert len(levels) == len(set(levels)) == result.changed == result.applied and result.failed == 0

    # What the store has now is what we recorded; publishing again finds nothing to write.
    with warehouse.connect() as conn:
        recorded = {(sku, loc): qty for sku, loc, qty in conn.execute(select(
            published_inventory.c.sku, published_inventory.c.location_key, published_inventory.c.quantity))}
    items = {v.inventory_item_id: v.sku for page in shop.iter_variants() for v in page}
    in_store = {(items[lvl.inventory_item_id], lvl.location_id): lvl.available
                for lvl in shop.inventory_levels(sorted(items), [loc.id for loc in shop.locations()])}
    assert all(in_store[level] == recorded[level] for level in levels)
    again = catalog_steps.publish(catalog_steps.extract_and_stage(), "publish_inventory", full=True)
    assert again.changed == 0 and again.considered == result.considered


@pytest.mark.parametrize("skew_s", [-60, 60], ids=["booking-worker-clock-behind", "booking-worker-clock-ahead"])
def test_an_order_crossing_into_the_erp_is_held_back_exactly_once_whatever_the_workers_clock(
        catalog_steps, admin, store, shop, erp_settings, warehouse, monkeypatch, skew_s):
    """The store sold 2; the order flow stages the order (pending: held back from the store's level), the
    catalog reads the ERP's stock, then the order flow books and confirms the sale on a worker whose clock
    is a minute off. The stock read before the confirmation does not count the sale, so the order must
    still be held back; the next read counts it, so it must not be held back a second time."""
    from erpsync.sync.orders import ingest
    from tests.support.erp import available
    from tests.support.flows import OrderSteps

    catalog_steps.run(full=True)
    main = admin.web_shop.warehouses[0]
    variant = _sold_from(shop, main.name)
    (product,) = admin.model("product.product", "search", [("code", "=", variant.sku)], 0, 1, None)
    store.admin("POST", "/orders", {"lines": [{"sku": variant.sku, "quantity": 2}], "email": "cross@example.com"})
    orders = OrderSteps(erp=erp_settings.client(), store=shop, engine=warehouse)
    orders.extract_and_stage()
    before = available(admin, [product], main.id)[product]  # what the ERP allows, the sale not in it yet
    staged = catalog_steps.extract_and_stage(full=True)

    monkeypatch.setattr(ingest, "dt", SkewedClock(dt.timedelta(seconds=skew_s)))
    assert orders.book(run_id="skewed").confirmed == 1

    def desired() -> int:
        run = catalog_publish.PublishRun(store=shop, engine=warehouse, config=catalog_steps.config, run_id="check",
                                         now=dt.datetime.now(dt.UTC),
                                         warehouses={w.code: w.name for w in admin.web_shop.warehouses})
        with warehouse.connect() as conn:
            return catalog_publish.desired_levels(conn, run, [variant.sku])[(variant.sku, main.name)]

    assert desired() == before - 2, "read before the confirmation: still held back (never oversell)"
    # The next read, once the ERP's clock has passed the time recorded for the confirmation (a read in the
    # same second is in doubt, and holds it back once more: the safe side), counts the sale.
    with warehouse.connect() as conn:
        counted_from = conn.execute(select(order_ledger.c.erp_confirmed_at)).scalar_one()
    wait_for(lambda: dt.datetime.now(dt.UTC) > counted_from, timeout_s=10, what="the ERP's clock past the confirmation",
             interval_s=0.05)
    catalog_steps.extract_and_stage(full=True)
    assert available(admin, [product], main.id)[product] == before - 2
    assert desired() == before - 2, "counted by the ERP now, and not held back a second time"


def test_only_what_the_web_shop_lists_is_sold_and_taking_a_variant_off_it_unpublishes_it(
        catalog_steps, admin, shop, request, monkeypatch):
    from tests.support.erp import delete_template, list_in_web_shop, new_template

    listed_id, listed = new_template(admin, ["-A", "-B"], Decimal("20.00"))
    unlisted_id, unlisted = new_template(admin, ["-X"], Decimal("25.00"))
    for template_id in (listed_id, unlisted_id):  # the ERP serves the whole session
        request.addfinalizer(lambda template_id=template_id: delete_template(admin, template_id))
    list_in_web_shop(admin, [v["id"] for v in unlisted], listed=False)  # the ERP sells it elsewhere

    def selling() -> set[str]:
        codes = {v["code"] for v in listed + unlisted}
        return {v.sku for page in shop.iter_variants() for v in page
                if v.sku in codes and v.product_status == "ACTIVE"}

    catalog_steps.run(full=True)
    assert selling() == {listed[0]["code"], listed[1]["code"]}, "a goods variant the web shop does not list"

    # The web shop's managers take one variant off, then list the other template: neither record changes.
    list_in_web_shop(admin, [listed[1]["id"]], listed=False)
    catalog_steps.run()
    assert selling() == {listed[0]["code"]}
    list_in_web_shop(admin, [unlisted[0]["id"]])
    catalog_steps.run()
    assert selling() == {listed[0]["code"], unlisted[0]["code"]}

    # Nothing moved since: the next run compares two counts and reads no assortment (O(1) at any size).
    monkeypatch.setattr(catalog_steps.erp, "web_shop_product_ids",
                        lambda *_: pytest.fail("a run that changed nothing read the whole assortment"))
    catalog_steps.run()
    assert selling() == {listed[0]["code"], unlisted[0]["code"]}


def test_a_backfills_repairs_reach_the_store_with_the_next_live_run(catalog_steps, admin, store, shop, warehouse):
    """Publish what is dirty, not what a run read: a change the live runs missed and a backfill staged is
    published by the next live run, without a full refresh, and a run with nothing staged looks at nothing."""
    from erpsync.sync.catalog.extract import extract_stock
    from erpsync.sync.catalog.stage import stage_stock
    from erpsync.warehouse import db

    catalog_steps.run(full=True)
    main = admin.web_shop.warehouses[0]
    variant = _sold_from(shop, main.name)
    (product,) = admin.model("product.product", "search", [("code", "=", variant.sku)], 0, 1, None)

    def in_store() -> int:
        return store.admin("GET", f"/inventory?sku={variant.sku}")["levels"][main.name]["available"]

    before = in_store()
    changed_at = receive(admin, product, main.id, Decimal(5))
    # The live runs miss the change: their cursor is already past it (a late commit in the ERP).
    past = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    wait_for(lambda: dt.datetime.now(dt.UTC) > past, timeout_s=10, what="the cursor's time", interval_s=0.05)
    with warehouse.begin() as conn:
        db.advance_cursor(conn, "erp", "stock_level", past, run_id="live", now=past)
    missed = catalog_steps.run()
    assert missed["publish_inventory"].changed == 0 and in_store() == before

    # A backfill over the interval re-reads the change into staging; it never writes to the store.
    backfill = extract_stock(catalog_steps.erp, warehouse, window_start=changed_at - dt.timedelta(minutes=1),
                             window_end=dt.datetime.now(dt.UTC), run_id="backfill", now=dt.datetime.now(dt.UTC))
    stage_stock(warehouse, batch_id=backfill.batch_id, run_id="backfill", now=dt.datetime.now(dt.UTC), cursor_at=None,
                publish_to=[shop.name])
    counted = catalog_steps.publish({"run_id": "backfill"}, "publish_inventory", dry_run=True)
    assert counted.changed >= 1 and counted.applied == 0 and in_store() == before

    live = catalog_steps.run()  # the next live run: nothing new in its own window
    assert live["publish_inventory"].applied >= 1
    assert in_store() == before + 5, "the backfill's repair reached the store"
    idle = catalog_steps.run()
    for step in catalog_publish.STEPS:
        assert (len(idle[step].marks), idle[step].considered, idle[step].changed) == (0, 0, 0), (step, idle[step])


def test_a_store_naming_a_web_shop_the_erp_lacks_holds_back_no_other_store(catalog_steps, warehouse, shop, caplog):
    """The ERP is read once for every store: a further store whose Connection misnames its web shop is left
    out of the read (with a warning naming it), the others' catalog is read, staged and published."""
    from erpsync.warehouse.schema import stg_offer, stg_product

    catalog_steps.other_web_shops = ["No Such Shop"]
    with caplog.at_level(logging.WARNING, logger="erpsync.sync.catalog.extract"):
        result = catalog_steps.run(full=True)
    assert [r.getMessage() for r in caplog.records if "No Such Shop" in r.getMessage()], caplog.text
    with warehouse.connect() as conn:
        staged = conn.execute(select(func.count()).select_from(stg_product)).scalar_one()
        offers = conn.execute(select(func.count()).select_from(stg_offer)).scalar_one()
    assert result["staged_products"].staged == staged > 0 and offers == 0
    assert result["publish_content"].applied > 0 and result["publish_content"].failed == 0
