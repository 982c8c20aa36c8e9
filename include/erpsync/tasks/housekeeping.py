"""Housekeeping of the warehouse (DAG ``housekeeping``): retention and the purge of personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import task


@task
def purge_old_data(**context: Any) -> dict[str, Any]:
    """Delete the raw rows, run log and closed error and quarantine rows past their retention, and blank
    the personal data of the order payloads kept past their period (Variable ``erpsync_retention``),
    counted back from the run's data interval end. Safe to run twice, and alongside the flows."""
    from erpsync.sync.housekeeping.policy import RetentionConfig
    from erpsync.sync.housekeeping.purge import purge
    from erpsync.tasks.runtime import RunInfo
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    config = RetentionConfig.load()
    result = purge(WarehouseHook().get_conn(), config, as_of=run.window_end, now=dt.datetime.now(dt.UTC))
    return {**result.as_counts(), "as_of": run.window_end.isoformat(), "retention": config.model_dump()}
