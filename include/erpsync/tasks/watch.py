"""The watch over the flows (DAG ``sync_watch``): stale data and stuck rows, from the run log and the
error queue; it alerts, and announces recovery, through the alert book."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import task


@task(retries=0)
def check_sync_health(**context: Any) -> dict[str, Any]:
    """Alert when a step of a flow did not succeed within its freshness window, rows of the error queue
    failed past their retry budget, a store's webhooks went silent while its orders changed, or changes of
    booked orders could not be applied in the ERP; clear those alerts when it is no longer so."""
    from erpsync.alerts import channels, rules
    from erpsync.alerts.book import AlertBook
    from erpsync.alerts.config import AlertConfig
    from erpsync.health import queries
    from erpsync.sync.state import step_log
    from erpsync.warehouse.hook import WarehouseHook

    config = AlertConfig.load()
    engine = WarehouseHook().get_conn()
    # A watch compares with the wall clock by nature: how long ago is the last success, now.
    now = dt.datetime.now(dt.UTC)
    book = AlertBook(engine, channels.send, renotify_after=dt.timedelta(hours=config.renotify_hours))
    with engine.connect() as conn:
        steps = step_log.read(conn)
    ages = rules.check_freshness(book, flows=queries.flows(engine), steps=steps,
                                 freshness_minutes=config.freshness_minutes, now=now)
    stuck = rules.check_stuck_rows(book, engine, max_attempts=config.stuck_after_attempts, now=now)
    silent = rules.check_webhooks(book, engine, silence_minutes=config.webhook_silence_minutes, now=now)
    not_applied = rules.check_not_applied(book, engine, within_hours=config.not_applied_hours, now=now)
    returns_waiting = rules.check_returns_waiting(book, engine, after_hours=config.returns_waiting_hours, now=now)
    book.raise_undelivered()
    return {"data_age_s": {flow: {step: round(age, 1) if age is not None else None for step, age in by_step.items()}
                           for flow, by_step in ages.items()},
            "stuck_rows": stuck, "webhooks_silent_min": silent, "orders_not_applied": not_applied,
            "returns_waiting": returns_waiting,
            "firing": [a["alert_key"] for a in book.firing()]}
