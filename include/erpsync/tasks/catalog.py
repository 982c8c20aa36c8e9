"""Tasks of the catalog flow (ERP -> store): extract, stage, publish content, prices and inventory."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import task

from erpsync.store.hook import DEFAULT_CONN_ID
from erpsync.tasks.config import catalog_config, extract_lag, order_lag
from erpsync.tasks.runtime import RunInfo

FLOW = "catalog"
EXTRACTS = ("extract_products", "extract_stock")
PUBLISH_STEPS = ("publish_content", "publish_prices", "publish_inventory")
STEPS = (*EXTRACTS, "stage_catalog", *PUBLISH_STEPS)
DATASETS = [("erp", "product"), ("erp", "stock_level")]  # what the run validates (quarantine alerts)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)  # for audit columns only: windows come from the run (RunInfo)


@task(pool="erp_api")
def extract_products(**context: Any) -> dict[str, Any]:
    """Land the ERP products changed since the cursor (or all, or the SKUs given) in the raw layer."""
    from erpsync.sync.catalog.extract import extract_products as extract
    from erpsync.tryton.hook import TrytonHook
    from erpsync.warehouse.hook import WarehouseHook

    from erpsync.tasks.stores import other_web_shops

    run = RunInfo.from_context(context)
    result = extract(
        TrytonHook().client, WarehouseHook().get_conn(), window_end=run.window_end, run_id=run.run_id,
        now=_now(), lag=extract_lag(), full_refresh=bool(run.params.get("full_refresh")),
        skus=run.params.get("skus") or None, window_start=run.backfill_start, other_web_shops=other_web_shops(),
    )
    return result.as_counts()


@task(pool="erp_api")
def extract_stock(**context: Any) -> dict[str, Any]:
    """Land the stock levels of the products whose stock moved since the cursor in the raw layer."""
    from erpsync.sync.catalog.extract import extract_stock as extract
    from erpsync.tryton.hook import TrytonHook
    from erpsync.warehouse.hook import WarehouseHook

    from erpsync.tasks.stores import other_web_shops

    run = RunInfo.from_context(context)
    result = extract(
        TrytonHook().client, WarehouseHook().get_conn(), window_end=run.window_end, run_id=run.run_id, now=_now(),
        lag=extract_lag(), full_refresh=bool(run.params.get("full_refresh")), window_start=run.backfill_start,
        other_web_shops=other_web_shops(),
    )
    return result.as_counts()


@task
def stage_catalog(**context: Any) -> dict[str, Any]:
    """Validate the extracted batches (Great Expectations), stage the good rows, quarantine the bad ones,
    and move each extract's cursor in the transaction that stages its batch."""
    from erpsync.sync.catalog.stage import stage_products, stage_stock
    from erpsync.tasks.stores import store_names
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    engine = WarehouseHook().get_conn()
    products, stock = (context["ti"].xcom_pull(task_ids=step) for step in EXTRACTS)
    stores = store_names()  # every configured store's publish steps must look at what this run staged
    staged_products = stage_products(
        engine, batch_id=products["batch_id"], currency=products["currency"], run_id=run.run_id, now=_now(),
        cursor_at=dt.datetime.fromisoformat(products["window_end"]) if products["move_cursor"] else None,
        publish_to=stores,
    )
    staged_stock = stage_stock(
        engine, batch_id=stock["batch_id"], run_id=run.run_id, now=_now(),
        cursor_at=dt.datetime.fromisoformat(stock["window_end"]) if stock["move_cursor"] else None,
        publish_to=stores,
    )
    return {"products": staged_products.as_counts(), "stock": staged_stock.as_counts(),
            "batch_ids": [products["batch_id"], stock["batch_id"]], "warehouses": stock["warehouses"],
            "seconds": round(staged_products.seconds + staged_stock.seconds, 3)}


def _publish(step: str, store_conn: str, context: dict[str, Any]) -> dict[str, Any]:
    from erpsync.store.hook import erp_hook, store_hook
    from erpsync.sync.catalog import publish as catalog_publish
    from erpsync.tasks.stores import channel_of, own_web_shop
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    staged = context["ti"].xcom_pull(task_ids="stage_catalog")
    if staged is not None:
        warehouses = staged["warehouses"]
    else:  # a further store's own publish DAG: what catalog_sync staged, mapped by the web shop's warehouses
        warehouses = {w.code: w.name for w in erp_hook(store_conn).client.web_shop.warehouses}
    publish = catalog_publish.PublishRun(
        store=store_hook(store_conn).store, engine=WarehouseHook().get_conn(),
        config=catalog_config(), run_id=run.run_id, now=_now(),
        full=bool(run.params.get("full_refresh")),
        # A backfill re-reads a past interval to repair the warehouse; the store stays with the live runs
        # (one writer, in order), so a backfill only counts what it would publish: its marks stay due, and
        # the next live run publishes them.
        dry_run=bool(run.params.get("dry_run")) or run.backfill_start is not None, approve_held=bool(run.params.get("approve_held")),
        warehouses=warehouses, channel=channel_of(store_conn), web_shop=own_web_shop(store_conn),
        order_lag=order_lag(),
    )
    return {**getattr(catalog_publish, step)(publish).as_counts(), "store": publish.store.name}


# The publish steps take the store's Connection id (``store_conn``): catalog_sync publishes to the first
# configured store, each further store has its own DAG (erpsync.tasks.stores) with its own pool.

@task(pool="store_api")
def publish_content(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """Create new products, update changed content and variant lists, archive what the ERP archived."""
    return _publish("publish_content", store_conn, context)


@task(pool="store_api")
def publish_prices(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """Publish changed prices and compare-at prices, per product; large swings are held."""
    return _publish("publish_prices", store_conn, context)


@task(pool="store_api")
def publish_inventory(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """Publish changed availability with compare-and-swap; concurrent sales are never overwritten."""
    return _publish("publish_inventory", store_conn, context)
