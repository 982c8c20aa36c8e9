"""Tasks of the order flow (store -> ERP): extract, stage, book, follow changes, fulfill."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import task

from erpsync.store.hook import DEFAULT_CONN_ID
from erpsync.tasks.config import catalog_config, order_lag
from erpsync.tasks.runtime import RunInfo

FLOW = "orders"
STEPS = ("extract_orders", "stage_orders", "ingest_orders", "apply_order_changes", "push_fulfillments")
DATASETS = [("store", "order")]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)  # for audit columns only: windows come from the run (RunInfo)


def _config():
    from airflow.sdk import Variable

    from erpsync.sync.orders.config import VARIABLE, OrdersConfig

    return OrdersConfig.parse(Variable.get(VARIABLE, default=None))


# Each task takes the store's Connection id (``store_conn``): one DAG per store (erpsync.tasks.stores),
# with the store's own pool given where the DAG is wired.

@task(pool="store_api")
def extract_orders(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """Land the store orders changed since the cursor (or in a backfill's interval) in the raw layer."""
    from erpsync.store.hook import store_hook
    from erpsync.sync.orders.extract import extract_orders as extract
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    store = store_hook(store_conn).store
    result = extract(store, WarehouseHook().get_conn(), window_end=run.window_end, run_id=run.run_id, now=_now(),
                     lag=order_lag(), full_refresh=bool(run.params.get("full_refresh")),
                     window_start=run.backfill_start)
    return {**result.as_counts(), "store": store.name, "currency": store.capabilities().currency}


@task
def stage_orders(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """Validate the orders (held ones again too), stage the good ones, hold the others, move the cursor;
    the other stores' inventory publish is told which SKUs these orders hold back (shared availability)."""
    from erpsync.sync.orders.stage import stage_orders as stage
    from erpsync.tasks.stores import other_store_names
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    extracted = context["ti"].xcom_pull(task_ids="extract_orders")
    result = stage(
        WarehouseHook().get_conn(), store=extracted["store"], batch_id=extracted["batch_id"],
        currency=extracted["currency"], run_id=run.run_id, now=_now(),
        # A backfill re-reads an old window: it never moves the cursor (which only moves forward anyway).
        cursor_at=None if run.backfill_start else dt.datetime.fromisoformat(extracted["window_end"]),
        share_with=other_store_names(store_conn),
    )
    return {**result.as_counts(), "store": extracted["store"]}


@task
def announce_shared_orders(**context: Any) -> dict[str, int]:
    """Succeeds, and so updates its outlet (the store's ``orders_shared`` asset, on which the other stores'
    publishing runs), only when staging marked SKUs for the other stores; skipped (no event) otherwise."""
    from airflow.sdk.exceptions import AirflowSkipException

    shared = (context["ti"].xcom_pull(task_ids="stage_orders") or {}).get("shared_skus", 0)
    if not shared:
        raise AirflowSkipException("no order for the other stores to hold back")
    return {"shared_skus": shared}


@task(pool="erp_api")
def ingest_orders(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """Book the staged orders in the ERP exactly once (in the store's web shop), and confirm them."""
    from erpsync.store.hook import erp_hook
    from erpsync.sync.orders.ingest import ingest_orders as ingest
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    store = context["ti"].xcom_pull(task_ids="stage_orders")["store"]
    return ingest(erp_hook(store_conn).client, WarehouseHook().get_conn(), store=store, config=_config(), run_id=run.run_id,
                  now=_now(), catalog=catalog_config()).as_counts()


@task(pool="erp_api")
def apply_order_changes(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """Apply the store's cancellations, edits, returns and refunds to the ERP's sales, each once."""
    from erpsync.store.hook import erp_hook
    from erpsync.sync.orders.changes import apply_changes
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    store = context["ti"].xcom_pull(task_ids="stage_orders")["store"]
    return apply_changes(erp_hook(store_conn).client, WarehouseHook().get_conn(), store=store, config=_config(),
                         now=_now(), run_id=run.run_id, catalog=catalog_config()).as_counts()


@task(pool="store_api")
def push_fulfillments(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """Create one store fulfillment, with tracking, for each order the ERP has shipped."""
    from erpsync.store.hook import erp_hook, store_hook
    from erpsync.sync.orders.fulfill import push_fulfillments as push
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    return push(erp_hook(store_conn).client, store_hook(store_conn).store, WarehouseHook().get_conn(), config=_config(),
                run_id=run.run_id, now=_now()).as_counts()
