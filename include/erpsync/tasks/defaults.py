"""Settings every DAG of the product shares."""

from __future__ import annotations

import datetime as dt

from erpsync.alerts.notifier import TaskFailureNotifier

DEFAULT_ARGS = {
    "owner": "data-team",
    # Task retries are for whole-task failures (a worker lost, the ERP restarting); API calls retry
    # inside the clients. A first retry after 10-20 s: a task whose worker was killed is noticed after the
    # heartbeat timeout (20 s, docker/airflow-celery.env) and runs again well within a minute; then 20-40,
    # 40-80 and 80-160 s (exponential backoff): some 2.5-5 minutes of patience in all for an ERP restart.
    "retries": 4,
    "retry_delay": dt.timedelta(seconds=10),
    # A multiplier since Airflow 3.3: True is 1, a constant delay (it was 2 before); 2.0 doubles it.
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=5),
    # A task that failed for good alerts the data team (Slack, e-mail), once per ongoing problem.
    "on_failure_callback": [TaskFailureNotifier()],
}

# Which task gets a free executor slot first when several wait (``priority_weight``, absolute: the same
# figure whatever the task's place in its DAG). On a small machine the slots are contended, and a slot
# given to a reconciliation while a sale waits to reach the other stores is seconds of oversell risk.
PRIORITY_AVAILABILITY = 30  # on the way of a sale or a stock change to every store's availability
PRIORITY_FLOW = 20  # the rest of the flows: booking orders, their changes, fulfillments, run bookkeeping
PRIORITY_BACKGROUND = 5  # reconciliation, housekeeping: minutes late cost nothing


def dag_defaults(priority: int = PRIORITY_FLOW) -> dict:
    """What every DAG of the product shares: created paused (unpaused once Airflow is healthy), one run at
    a time (runs hand over through cursors), no catch-up (a window always starts at the cursor, so a late
    run reads everything since the last one anyway); its tasks' executor priority, ``priority`` unless a
    task says otherwise."""
    return {
        "start_date": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "catchup": False,
        "max_active_runs": 1,
        "is_paused_upon_creation": True,
        "default_args": {**DEFAULT_ARGS, "weight_rule": "absolute", "priority_weight": priority},
    }


DAG_DEFAULTS = dag_defaults()

# The trigger rule of a flow's later steps: run when the steps before them are done, whatever their
# outcome, as long as one of them (the staging step, a direct upstream of each) succeeded. One failed step
# then never skips the independent ones after it; a failed staging still stops them all.
AFTER_STAGED = "all_done_min_one_success"

TAGS_ERP = "erp:tryton"
TAGS_STORE = "store:store_default"  # the store Connection the flows use (its type says the kind)


def schedule_for(flow: str, default_seconds: int = 30, *, store: str | None = None):
    """A flow's schedule from Airflow's configuration (``[erpsync] <flow>_interval_seconds``, default
    ``default_seconds``; for one store's DAG, ``<flow>_interval_seconds__<store connection id>`` first,
    e.g. a slow safety-net poll for the store whose webhooks start its runs), read from
    the loaded config at parse time (no I/O): an interval with real data intervals (windows end at the
    interval's end, backfills work); back to back ("@continuous") when 0; manual or external triggers
    only when negative."""
    from airflow.configuration import conf
    from airflow.sdk import DeltaDataIntervalTimetable

    seconds = conf.getint("erpsync", f"{flow}_interval_seconds", fallback=default_seconds)
    if store is not None:
        seconds = conf.getint("erpsync", f"{flow}_interval_seconds__{store}", fallback=seconds)
    if seconds < 0:
        return None
    # Not a bare timedelta: Airflow 3 makes that a trigger timetable whose intervals are points, and a
    # backfill run would then have an empty window.
    return "@continuous" if seconds == 0 else DeltaDataIntervalTimetable(dt.timedelta(seconds=seconds))


def erp_watch_seconds() -> float:
    """How often the ERP change watcher asks the ERP whether the catalog changed (``[erpsync]
    erp_watch_seconds``), read at parse time (no I/O); 0 or negative (the default): no watcher, the
    catalog flow runs on its interval alone."""
    from airflow.configuration import conf

    return max(0.0, conf.getfloat("erpsync", "erp_watch_seconds", fallback=0))


def cron_schedule(name: str, default: str):
    """A calendar schedule from Airflow's configuration (``[erpsync] <name>_cron``, UTC, default
    ``default``), read at parse time (no I/O), with real data intervals (a run's day is its interval)."""
    from airflow.configuration import conf
    from airflow.sdk import CronDataIntervalTimetable

    return CronDataIntervalTimetable(conf.get("erpsync", f"{name}_cron", fallback=default), timezone="UTC")
