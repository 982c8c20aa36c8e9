"""Tasks of the catalog flow (ERP -> store)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import task

from erpsync.tasks.config import extract_lag
from erpsync.tasks.runtime import RunInfo

FLOW = "catalog"


@task(pool="erp_api")
def extract_products(**context: Any) -> dict[str, Any]:
    """Land the ERP products changed since the cursor (or all, or the SKUs given) in the raw layer."""
    from erpsync.sync.catalog_extract import extract_products as extract
    from erpsync.tryton.hook import TrytonHook
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    result = extract(
        TrytonHook().client, WarehouseHook().get_conn(), window_end=run.window_end, run_id=run.run_id,
        now=dt.datetime.now(dt.UTC), lag=extract_lag(), full_refresh=bool(run.params.get("full_refresh")),
        skus=run.params.get("skus") or None,
    )
    return result.as_counts()


@task(pool="erp_api")
def extract_stock(**context: Any) -> dict[str, Any]:
    """Land the stock levels of the products whose stock moved since the cursor in the raw layer."""
    from erpsync.sync.catalog_extract import extract_stock as extract
    from erpsync.tryton.hook import TrytonHook
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    result = extract(
        TrytonHook().client, WarehouseHook().get_conn(), window_end=run.window_end, run_id=run.run_id,
        now=dt.datetime.now(dt.UTC), lag=extract_lag(), full_refresh=bool(run.params.get("full_refresh")),
    )
    return result.as_counts()
