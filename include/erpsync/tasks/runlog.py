"""The first and last task of every flow run: its row in ``sync_run`` (the UI and the alerts read it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import task

from erpsync.tasks.runtime import RunInfo

# The flows that work on one store (its orders, its whole state): their runs and steps are that store's.
# The catalog flow starts at the ERP; its publish steps say which store they wrote to in their counts,
# except in a further store's own publish DAG (``catalog_publish__<conn>``), whose run is that store's.
STORE_FLOWS = ("orders", "reconcile")


@task
def start_run(flow: str, store_conn: str | None = None, **context: Any) -> dict[str, str]:
    """Open (or, on a rerun of the same Airflow run, reopen) the run's row in ``sync_run``; returns the
    run's store (XCom: ``finish_run`` closes the same row): that of ``store_conn``, or of the default
    store Connection for a flow of one store, else none."""
    from erpsync.warehouse import db
    from erpsync.warehouse.hook import WarehouseHook
    from erpsync.warehouse.schema import NOT_OF_A_STORE

    run = RunInfo.from_context(context)
    store = NOT_OF_A_STORE
    if store_conn or flow in STORE_FLOWS:
        from erpsync.store.hook import DEFAULT_CONN_ID, store_hook

        store = store_hook(store_conn or DEFAULT_CONN_ID).store.name
    db.start_run(
        WarehouseHook().get_conn(), flow=flow, dag_id=run.dag_id, run_id=run.run_id,
        logical_date=run.logical_date, window_start=None, window_end=run.window_end,
        now=dt.datetime.now(dt.UTC), store=store,
    )
    return {"store": store}


class StepsFailed(RuntimeError):
    """Raised by ``finish_run`` when a step failed: that step's own failure alert says why."""


# No retries: a step that failed stays failed, and the next run of the flow must not wait for this one.
@task(trigger_rule="all_done", retries=0)
def finish_run(flow: str, steps: list[str], datasets: list[tuple[str, str]] = (), **context: Any) -> dict[str, Any]:
    """Close the run's row with each step's counts, record each step's outcome (``sync_step``), alert on
    what it calls for (guardrail holds, rows in quarantine for ``datasets``), then fail if a step did not
    succeed.

    It runs whatever happened upstream (``all_done``) so that the row never stays 'running'; it fails
    after writing so that the Airflow run is marked failed too (its state follows this last task).
    """
    from erpsync.alerts import channels, rules
    from erpsync.alerts.book import AlertBook
    from erpsync.alerts.config import AlertConfig
    from erpsync.sync.state import step_log
    from erpsync.warehouse import db
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    store = (context["ti"].xcom_pull(task_ids="start_run") or {}).get("store", "")
    results = {step: context["ti"].xcom_pull(task_ids=step) for step in steps}
    missing = sorted(step for step, result in results.items() if result is None)
    counts = {step: result for step, result in results.items() if result is not None}
    timings = {step: result.get("seconds", 0.0) for step, result in counts.items()}
    error = f"step(s) without a result: {', '.join(missing)} (see their logs)" if missing else None
    held = any(result.get("held") for result in counts.values())
    engine = WarehouseHook().get_conn()
    now = dt.datetime.now(dt.UTC)
    db.finish_run(
        engine, flow=flow, dag_id=run.dag_id, run_id=run.run_id,
        status="failed" if missing else "held" if held else "success", counts=counts, timings=timings,
        error=error, now=now, store=store,
    )
    with engine.begin() as conn:  # each step's own freshness; a dry run (a backfill's publish) reached nothing
        step_log.record_outcomes(conn, store=store, flow=flow, dag_id=run.dag_id, run_id=run.run_id,
                                 failed=missing, now=now, succeeded=[step for step, result in counts.items() if not result.get("dry_run")])
    book = AlertBook(engine, channels.send, renotify_after=dt.timedelta(hours=AlertConfig.load().renotify_hours))
    rules.after_run(book, dag_id=run.dag_id, run_id=run.run_id, counts=counts, datasets=[tuple(d) for d in datasets],
                    now=now, succeeded=not missing, store=store)
    book.raise_undelivered()
    if missing:
        raise StepsFailed(error)
    return counts
