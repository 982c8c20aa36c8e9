"""Crash injection at every side-effect boundary (issue "Every row for itself"): the worker is killed with
SIGKILL right after the ERP or the store applied something and before the warehouse recorded it; the
rerun Airflow makes (a retry of the same task: the same run) must then leave exactly what one clean run
would have: each order booked once, each level at what the ERP allows (not one more, not one less), each
product once in the store. On both warehouse engines."""

from __future__ import annotations

import signal
from collections import Counter
from dataclasses import asdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.warehouse.schema import order_ledger, published_inventory, published_variant
from tests.integration.flows.test_order_steps import erp_sales, in_stock, place, ship
from tests.support.crash import Crash, kill_at
from tests.support.erp import available, new_template, receive_each, sales_per_order

pytestmark = pytest.mark.erp


def crash(boundary: str, step: str, *, erp_settings, store, warehouse_url, run_id: str, **options) -> None:
    died = kill_at(Crash(boundary, step, erp=asdict(erp_settings), store={"url": store.url, "token": store.token()},
                         warehouse_url=warehouse_url, run_id=run_id, **options))
    assert died.returncode == -signal.SIGKILL, f"not killed at {boundary} ({died.returncode}):\n{died.stderr[-3000:]}"


def test_killed_after_the_erp_created_a_batch_of_sales_books_each_order_once(
        order_steps, store, shop, admin, erp_settings, warehouse_url, warehouse):
    skus = in_stock(shop, 5, at_least=8)
    orders = [place(store, [{"sku": skus[i % len(skus)], "quantity": 1}], email=f"crash{i}@example.com")
              for i in range(25)]
    order_steps.extract_and_stage()

    # Batches of 10: killed once the ERP created the second batch, before the ledger heard of it.
    crash("erp_created_sales", "book", erp_settings=erp_settings, store=store, warehouse_url=warehouse_url,
          run_id="run-1", after_calls=2, erp_options={"sale_batch_size": 10})
    ids = [o["id"] for o in orders]
    assert sum(sales_per_order(admin, ids).values()) == 20 and set(sales_per_order(admin, ids).values()) == {1}
    with warehouse.connect() as conn:
        states = Counter(conn.execute(select(order_ledger.c.state)).scalars())
    assert states == Counter({"confirmed": 10, "pending": 10}), "the ledger knows of the first batch only"

    retry = order_steps.book(run_id="run-1")
    assert (retry.found, retry.created, retry.confirmed) == (10, 5, 15)
    assert sales_per_order(admin, ids) == Counter({order_id: 1 for order_id in ids})
    with warehouse.connect() as conn:
        assert Counter(conn.execute(select(order_ledger.c.state)).scalars()) == Counter({"confirmed": 25})


def test_killed_after_the_store_applied_an_inventory_write_leaves_every_level_as_the_erp_allows(
        catalog_steps, store, shop, admin, erp_settings, warehouse_url, warehouse):
    catalog_steps.run(full=True)
    main = admin.web_shop.warehouses[0]
    location = next(loc.id for loc in shop.locations() if loc.name == main.name)
    with warehouse.connect() as conn:
        active = sorted(conn.execute(select(published_variant.c.sku).where(published_variant.c.status == "ACTIVE")
                                     ).scalars())
    published = {row["code"]: row["id"] for row in admin.model(
        "product.product", "search_read", [("code", "in", active)], 0, None, None, ["code"])}
    skus = sorted(published)[:300]  # more than one call's worth (250 levels)
    receive_each(admin, {published[sku]: Decimal(1 + i % 3) for i, sku in enumerate(skus)}, main.id)
    expected = available(admin, [published[sku] for sku in skus], main.id)
    staged = catalog_steps.extract_and_stage()

    # Killed after the store applied the second call (the first one is recorded), mid-publish.
    crash("store_set_inventory", "publish_inventory", erp_settings=erp_settings, store=store,
          warehouse_url=warehouse_url, run_id=staged["run_id"], after_calls=2,
          staged={"run_id": staged["run_id"]})
    retry = catalog_steps.publish(staged, "publish_inventory")  # Airflow retrying the task: the same run
    # The write the store applied before the crash is sent again with its idempotency key: the store
    # answers it as applied, instead of a stale compare that would take it for a change in the store.
    assert retry.failed == 0 and retry.recomputed == 0, retry

    levels = {sku: store.admin("GET", f"/inventory?sku={sku}")["levels"][main.name]["available"] for sku in skus}
    assert levels == {sku: expected[published[sku]] for sku in skus}, "not one more, not one less"
    with warehouse.connect() as conn:
        recorded = dict(conn.execute(select(published_inventory.c.sku, published_inventory.c.quantity).where(
            published_inventory.c.location_key == location, published_inventory.c.sku.in_(skus))).all())
    assert recorded == levels, "the published state is what the store holds"


def test_killed_after_the_store_created_a_product_publishes_it_once(catalog_steps, store, shop, admin,
                                                                     erp_settings, warehouse_url, warehouse):
    catalog_steps.run(full=True)
    _, variants = new_template(admin, ["-S", "-M", "-L"], Decimal("40.00"))
    staged = catalog_steps.extract_and_stage()

    crash("store_set_product", "publish_content", erp_settings=erp_settings, store=store,
          warehouse_url=warehouse_url, run_id=staged["run_id"], after_calls=1,
          staged={"run_id": staged["run_id"]})
    retry = catalog_steps.publish(staged, "publish_content")
    assert retry.failed == 0

    codes = {v["code"] for v in variants}
    in_store = [v for page in shop.iter_variants() for v in page if v.sku in codes]
    assert Counter(v.sku for v in in_store) == Counter(codes), "each variant once in the store"
    assert len({v.product_id for v in in_store}) == 1, "one product, not a second copy"
    with warehouse.connect() as conn:
        recorded = dict(conn.execute(select(published_variant.c.sku, published_variant.c.store_product_id)
                                     .where(published_variant.c.sku.in_(codes))).all())
    assert recorded == {v.sku: v.product_id for v in in_store}


def test_killed_after_the_store_created_a_fulfillment_fulfills_once(order_steps, store, shop, admin, erp_settings,
                                                                    warehouse_url, warehouse):
    (sku,) = in_stock(shop, 1)
    order = place(store, [{"sku": sku, "quantity": 1}], email="ship.crash@example.com")
    order_steps.run()
    (sale,) = erp_sales(admin, [order["id"]]).values()
    ship(admin, sale["id"], tracking="1Z999AA10123450001")

    crash("store_created_fulfillment", "fulfill", erp_settings=erp_settings, store=store,
          warehouse_url=warehouse_url, run_id="fulfill-1")
    with warehouse.connect() as conn:
        assert conn.execute(select(order_ledger.c.state)).scalar_one() == "confirmed", "not recorded yet"
    retry = order_steps.fulfill(run_id="fulfill-1")
    assert retry.failed == 0
    fulfillment_orders = shop.fulfillment_orders([order["id"]])[order["id"]]
    assert [len(f.fulfillment_ids) for f in fulfillment_orders] == [1], "one fulfillment, not a second"
    with warehouse.connect() as conn:
        assert conn.execute(select(order_ledger.c.state)).scalar_one() == "fulfilled"
