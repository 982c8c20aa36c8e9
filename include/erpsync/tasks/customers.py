"""The customers task (optional, off by default): ERP parties <-> the store's customer accounts
(:mod:`erpsync.sync.customers.run`). It runs in the store's ``reconcile`` DAG, on its background pool."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from airflow.sdk import task

from erpsync.store.hook import DEFAULT_CONN_ID
from erpsync.tasks.config import order_lag, store_customers
from erpsync.tasks.runtime import RunInfo

STEP = "sync_customers"


@task(pool="store_api_background")
def sync_customers(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """New or changed ERP customers become store accounts and new store accounts ERP parties, each pair
    linked once, as ``[erpsync] store_customers`` says (``off``: nothing, and said so in the counts)."""
    started = time.monotonic()
    direction = store_customers(store_conn)
    if direction == "off":
        return {"off": f"[erpsync] store_customers is off for {store_conn}", "seconds": 0.0}
    from erpsync.store.hook import erp_hook, store_hook
    from erpsync.sync.customers.run import sync_customers as sync
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    result = sync(erp_hook(store_conn).client, store_hook(store_conn).background_store,
                  WarehouseHook().get_conn(), direction=direction, window_end=run.window_end, run_id=run.run_id,
                  now=dt.datetime.now(dt.UTC), lag=order_lag(),
                  full_refresh=bool(run.params.get("customers_full_refresh")))
    return {**result.as_counts(), "seconds": round(time.monotonic() - started, 3)}
