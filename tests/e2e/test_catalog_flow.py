"""The catalog flow end to end through the real Airflow scheduler, against the sandbox Tryton server and
the store emulator, on both warehouse engines.

After each run the store must match the state the ERP asks for, computed here independently of the
product's code: active variants with the price-list price (the list price as compare-at when higher),
availability per location = on hand and not promised in the warehouse of the same name, minus what the
store sold that the ERP does not know yet; archived templates archived in the store.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.shopify.settings import ShopifySettings
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import row_error, stg_product, sync_cursor, sync_run
from sandbox.tryton import catalog
from sandbox.airflow_local import wait_for
from tests.conftest import (create_pg_database, drop_pg_database, running_airflow, scheduler_connections,
                            trigger_and_wait)
from sandbox.tryton.shipper import confirming
from tests.integration.flows.test_catalog_poison import VARIANT_LIMIT
from tests.support.erp import delete_template, new_template, receive

pytestmark = [pytest.mark.e2e, pytest.mark.erp, pytest.mark.timeout(1800)]


def erp_view(erp: TrytonClient, sold: dict[tuple[str, str], int]) -> dict[str, dict]:
    """What the store must show, per SKU, from the ERP and the sales the ERP does not know yet (per SKU
    and store location)."""
    products = [p for page in erp.iter_changed_products(None) for p in page]
    levels = {(lvl.sku, lvl.warehouse_code): lvl for lvl in erp.stock_levels([p.erp_product_id for p in products])}
    names = {w.code: w.name for w in erp.web_shop.warehouses}
    view = {}
    for p in products:
        template_active = any(q.active for q in products if q.template_id == p.template_id)
        view[p.sku] = {
            "active": p.active, "template_active": template_active, "price": p.sale_price,
            "compare_at": p.list_price if p.list_price > p.sale_price else None,
            "available": {
                names[code]: max(0, int(min(lvl.quantity, lvl.forecast_quantity)) - sold.get((p.sku, names[code]), 0))
                for (sku, code), lvl in levels.items() if sku == p.sku
            },
        }
    return view


def store_view(store) -> dict[str, dict]:
    variants = {v.sku: v for page in store.iter_variants() for v in page}
    locations = {loc.id: loc.name for loc in store.locations()}
    levels = store.inventory_levels([v.inventory_item_id for v in variants.values()], list(locations))
    by_item = {v.inventory_item_id: sku for sku, v in variants.items()}
    available: dict[str, dict[str, int]] = {}
    for lvl in levels:
        available.setdefault(by_item[lvl.inventory_item_id], {})[locations[lvl.location_id]] = lvl.available
    return {sku: {"status": v.product_status, "price": v.price, "compare_at": v.compare_at_price,
                  "available": available.get(sku, {})} for sku, v in variants.items()}


def assert_store_matches(erp: TrytonClient, store, sold: dict[tuple[str, str], int],
                         refused: frozenset[str] = frozenset()) -> None:
    """``refused``: SKUs the store refuses (held in the error queue), never published."""
    wanted, have = erp_view(erp, sold), store_view(store)
    problems = []
    for sku, want in wanted.items():
        got = have.get(sku)
        if sku in refused:
            if got is not None:
                problems.append(f"{sku}: refused by the store, yet there")
            continue
        if not want["active"]:
            if got and want["template_active"]:
                problems.append(f"{sku}: archived in the ERP, still a variant in the store")
            if got and not want["template_active"] and got["status"] != "ARCHIVED":
                problems.append(f"{sku}: template archived in the ERP, product {got['status']} in the store")
            continue
        if got is None:
            problems.append(f"{sku}: missing in the store")
            continue
        for field in ("price", "compare_at", "available"):
            if got[field] != want[field]:
                problems.append(f"{sku}: {field} {got[field]} in the store, {want[field]} wanted")
        if got["status"] != "ACTIVE":
            problems.append(f"{sku}: {got['status']} in the store")
    assert not problems, f"{len(problems)} difference(s): {problems[:10]}"


def run_counts(engine, run_id: str) -> dict:
    with engine.connect() as conn:
        return conn.execute(select(sync_run.c.counts).where(sync_run.c.run_id == run_id)).scalar_one()


def mutations(counts: dict) -> int:
    """Writes the store applied (a refused product's due retry is an attempt, not a change)."""
    return sum(counts[step]["applied"] for step in ("publish_content", "publish_prices", "publish_inventory"))


def open_errors(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(
            select(row_error.c.record_key, row_error.c.error_kind, row_error.c.error_message)
            .where(row_error.c.status == "open")))


def test_the_store_follows_the_erp_and_a_second_run_sends_nothing(scheduler, use_warehouse, store, erp_admin,
                                                                   erp_settings, request):
    engine = make_engine(use_warehouse)
    erp = erp_settings.client()
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()

    trigger_and_wait(scheduler, "catalog_sync", {"full_refresh": True})
    # (The scheduled run Airflow starts when the DAG is unpaused may have published first.)
    with engine.connect() as conn:
        published = sum((c.get("publish_content") or {}).get("applied", 0)
                        for c in conn.execute(select(sync_run.c.counts)).scalars())
    assert published >= 150
    assert_store_matches(erp, shop, sold={})

    # The ERP changes, and the store sells, between two runs.
    templates = admin.model("product.template", "search_read", [("active", "=", True), ("salable", "=", True)],
                            10, 3, [("id", "ASC")], ["list_price", "products"])
    repriced, archived, restocked = templates
    admin.model("product.template", "write", [repriced["id"]],
                {"list_price": (repriced["list_price"] * Decimal("1.2")).quantize(Decimal("0.01"))})
    confirming(admin, "product.template", "write", [archived["id"]], {"active": False})
    receive(admin, restocked["products"][0], admin.web_shop.warehouses[0].id, Decimal(11))
    _, new_variants = new_template(admin, ["S", "M"], Decimal("42.00"))
    for variant in new_variants:
        receive(admin, variant["id"], admin.web_shop.warehouses[1].id, Decimal(6))
    # And a template the store refuses (more variants than a product may have here): held alone, while the
    # other changes, their prices and their stock go out in the same run.
    refused_id, refused_variants = new_template(admin, [f"-{i:04d}" for i in range(VARIANT_LIMIT + 1)],
                                                Decimal("12.00"))
    request.addfinalizer(lambda: delete_template(admin, refused_id))  # the ERP serves the whole session
    refused = frozenset(v["code"] for v in refused_variants)
    before_sale = store_view(shop)
    sold_sku = next(sku for sku, v in before_sale.items() if sum(v["available"].values()) >= 6)
    store.admin("POST", "/orders", {"lines": [{"sku": sold_sku, "quantity": 2}]})
    after_sale = store_view(shop)[sold_sku]["available"]
    sold = {(sold_sku, location): before_sale[sold_sku]["available"][location] - quantity
            for location, quantity in after_sale.items() if quantity != before_sale[sold_sku]["available"][location]}
    assert sum(sold.values()) == 2

    second = trigger_and_wait(scheduler, "catalog_sync")
    counts = run_counts(engine, second)
    assert counts["publish_content"]["applied"] >= 2  # the archived template and the new one
    assert counts["publish_content"]["failed"] == 1  # the refused one, alone
    assert counts["publish_prices"]["applied"] >= 1
    assert counts["publish_inventory"]["applied"] >= 1
    assert_store_matches(erp, shop, sold=sold, refused=refused)
    assert all(v["code"] in store_view(shop) for v in new_variants)
    errors = open_errors(engine)
    assert {key for key, _, _ in errors} == refused
    assert all(kind == "ProductSetRefused" and f"{VARIANT_LIMIT + 1} variants: more than" in message
               for _, kind, message in errors), errors[0]

    third = trigger_and_wait(scheduler, "catalog_sync")
    assert mutations(run_counts(engine, third)) == 0, run_counts(engine, third)
    assert_store_matches(erp, shop, sold=sold, refused=refused)

    # Clearing the whole second run repeats it: it changes nothing more.
    before = store_view(shop)
    scheduler.http.post(f"{scheduler.url}/api/v2/dags/catalog_sync/clearTaskInstances", json={
        "dag_run_id": second, "dry_run": False, "only_failed": False, "reset_dag_runs": True,
    }, timeout=30).raise_for_status()
    state = scheduler.wait_for_run(scheduler.http, "catalog_sync", second)
    assert state == "success"
    assert mutations(run_counts(engine, second)) == 0
    assert store_view(shop) == before
    assert {key for key, _, _ in open_errors(engine)} == refused, "nothing else is held"
    engine.dispose()


@pytest.fixture(scope="module")
def every_minute(tmp_path_factory, erp_sandbox, erp_settings, store_emulator, pg_server):
    """An Airflow of its own whose catalog runs every minute, as in production (every 30 s by default):
    minute intervals complete while a test waits, and only complete intervals can be backfilled.

    Its metadata database is PostgreSQL, as in production: backfills are an operator's tool there, and
    minutes of live runs, backfill CLI calls and API polling at once are what SQLite's single writer
    lock handles worst (the demo and the other scheduler tests keep the embedded SQLite default)."""
    metadata_url = create_pg_database(pg_server)
    try:
        yield from running_airflow(tmp_path_factory, erp_sandbox, erp_settings, store_emulator, {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            "AIRFLOW__ERPSYNC__CATALOG_INTERVAL_SECONDS": "60", "AIRFLOW__ERPSYNC__ORDERS_INTERVAL_SECONDS": "-1"})
    finally:
        drop_pg_database(pg_server, metadata_url)


@pytest.mark.long  # an Airflow of its own waiting for minute intervals: about 5 minutes
def test_a_backfill_repairs_the_warehouse_and_never_writes_to_the_store(every_minute, erp_sandbox, erp_settings,
                                                                        store_emulator, store, warehouse_url,
                                                                        erp_admin):
    """`airflow backfill create` over minutes in which the live runs missed a change (the cursor jumped
    over it, as after an outage): staging gets the change, the backfill's own runs write nothing to the
    store (twice); the live runs publish the repair, with no parameter (what staging marked due)."""
    scheduler = every_minute
    scheduler.configure(connections=scheduler_connections(erp_sandbox, erp_settings, store_emulator, warehouse_url))
    engine = make_engine(warehouse_url)
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()
    trigger_and_wait(scheduler, "catalog_sync", {"full_refresh": True})

    # A template whose variants take its list price (some carry their own).
    with engine.connect() as conn:
        staged_prices = dict(conn.execute(select(stg_product.c.sku, stg_product.c.list_price)).all())
    template = next(
        t for t in admin.model("product.template", "search_read", [("active", "=", True), ("salable", "=", True)],
                               20, 40, [("id", "ASC")], ["list_price", "products"])
        if {staged_prices.get(p["code"]) for p in admin.model("product.product", "read", t["products"], ["code"])}
        == {t["list_price"]})
    price = (template["list_price"] * Decimal("1.1")).quantize(Decimal("0.01"))
    changed_at = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:  # the live runs jump over the change (as after an outage)
        conn.execute(sync_cursor.update().where(sync_cursor.c.source == "erp")
                     .values(cursor_at=changed_at + dt.timedelta(minutes=30)))
    admin.model("product.template", "write", [template["id"]], {"list_price": price})
    skus = [p["code"] for p in admin.model("product.product", "read", template["products"], ["code"])]
    # What the ERP now says of them (a variant may carry a list price of its own).
    erp = erp_settings.client()
    wanted = {p.sku: p.list_price for page in erp.iter_changed_products(None, skus=skus) for p in page}
    with engine.connect() as conn:
        published = dict(conn.execute(select(stg_product.c.sku, stg_product.c.list_price)
                                      .where(stg_product.c.sku.in_(skus))).all())
    assert wanted != published, "the change must reprice at least one variant"
    # Only complete intervals are backfilled; the backfill's intervals start at its from-date, a minute
    # each: wait until the one with the change has ended.
    start = changed_at - dt.timedelta(minutes=3)
    wait_for(lambda: dt.datetime.now(dt.UTC) > changed_at + dt.timedelta(seconds=65), timeout_s=90,
             what="the change's interval to end", interval_s=1)
    window = (start.isoformat(), dt.datetime.now(dt.UTC).isoformat())
    for _ in range(2):
        runs = scheduler.backfill(scheduler.http, "catalog_sync", *window)
        assert runs and set(runs.values()) == {"success"}, runs
        with engine.connect() as conn:
            staged = dict(conn.execute(select(stg_product.c.sku, stg_product.c.list_price)
                                       .where(stg_product.c.sku.in_(skus))).all())
        assert staged == wanted, ("the backfill repaired staging", runs, [
            {k: run_counts(engine, r).get(k) for k in ("extract_products", "stage_catalog")} for r in runs])
        counts = [run_counts(engine, run_id) for run_id in runs]
        steps = ("publish_content", "publish_prices", "publish_inventory")
        assert all(c[step]["dry_run"] and c[step]["applied"] == 0 for c in counts for step in steps), (
            "a backfill never writes to the store")

    # The live runs (every minute, and this one triggered by hand, neither with parameters) publish it.
    trigger_and_wait(scheduler, "catalog_sync", {})
    assert {sku: v["compare_at"] or v["price"] for sku, v in store_view(shop).items() if sku in skus} == wanted
    engine.dispose()
