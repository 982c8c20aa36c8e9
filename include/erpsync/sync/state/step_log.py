"""Each step of each flow on its own: when it last succeeded, when it last failed and what it raised.

A flow run is one row of ``sync_run``, and it fails when any of its steps fails; that says nothing of
the others. Orders may be booked every run while shipments have failed for an hour: the freshness that
matters to a reader, and to an alert, is each step's. So:

- the run's closing task records, per step, whether it produced a result (:func:`record_outcomes`);
  a dry run's result (a backfill's publish) does not count as a success: nothing reached the store;
- the failure notifier, which runs in the failing task with its exception, records the first line of
  the error (redacted as an alert is: no e-mail addresses, no credentials) and the run and try whose
  log shows it (:func:`record_error`).

A step of a flow of one store (orders, reconcile) is that store's: its row carries the run's store
(``sync_run.store``), so one store's failing shipments never hide behind another's fresh ones.

Times are the recording process's clock (when it was seen), never compared with another system's.
Each write is keyed by (store, flow, step) and never goes back in time: a slow run finishing late cannot make
a step look fresher or staler than a newer one did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from erpsync.alerts.redact import redact
from erpsync.warehouse import db
from erpsync.warehouse.schema import NOT_OF_A_STORE, sync_run, sync_step

ERROR_CHARS = 1000


@dataclass(frozen=True, slots=True)
class StepState:
    flow: str
    step: str
    dag_id: str
    last_success_at: dt.datetime | None
    last_success_run_id: str | None
    last_failed_at: dt.datetime | None
    last_failed_run_id: str | None
    last_error: str | None
    last_error_run_id: str | None
    last_error_try: int | None
    store: str = NOT_OF_A_STORE

    @property
    def label(self) -> str:
        """How the step is told apart from the same step of another store: ``shop-eu/ingest_orders``."""
        return f"{self.store}/{self.step}" if self.store else self.step

    @property
    def failing(self) -> bool:
        """Its latest outcome is a failure."""
        return self.last_failed_at is not None and (
            self.last_success_at is None or self.last_failed_at > self.last_success_at)


def record_outcomes(conn: Connection, *, flow: str, dag_id: str, run_id: str, succeeded: Iterable[str],
                    failed: Iterable[str], now: dt.datetime, store: str = NOT_OF_A_STORE) -> None:
    """One run's outcome per step: ``succeeded`` produced a result that reached its target, ``failed``
    produced none; ``store``: the run's (``sync_run.store``)."""
    base = {"store": store, "flow": flow, "dag_id": dag_id}
    db.upsert(conn, sync_step, [{**base, "step": step, "last_success_at": now, "last_success_run_id": run_id}
                                for step in sorted(set(succeeded))], unless_older="last_success_at")
    db.upsert(conn, sync_step, [{**base, "step": step, "last_failed_at": now, "last_failed_run_id": run_id}
                                for step in sorted(set(failed))], unless_older="last_failed_at")


def record_error(conn: Connection, *, dag_id: str, run_id: str, step: str, error: str, try_number: int | None,
                 now: dt.datetime) -> str | None:
    """The exception a step raised in ``run_id``, recorded for the run's flow and store; returns that store
    (``''``: the ERP side), or None when the run is not a flow's (no ``sync_run`` row: a task of another
    DAG), so nothing is recorded."""
    run = conn.execute(select(sync_run.c.store, sync_run.c.flow)
                       .where(sync_run.c.dag_id == dag_id, sync_run.c.run_id == run_id)).first()
    if run is None:
        return None
    db.upsert(conn, sync_step, [{
        "store": run.store, "flow": run.flow, "step": step, "dag_id": dag_id, "last_failed_at": now,
        "last_failed_run_id": run_id,
        "last_error": redact(error)[:ERROR_CHARS], "last_error_run_id": run_id, "last_error_try": try_number,
    }], unless_older="last_failed_at")
    return run.store


def read(conn: Connection) -> dict[str, dict[str, StepState]]:
    """flow -> step label (the step, and its store when it is a store's: :attr:`StepState.label`) -> its
    state, for every step that ever ran."""
    found: dict[str, dict[str, StepState]] = {}
    for row in conn.execute(select(sync_step).order_by(sync_step.c.flow, sync_step.c.store, sync_step.c.step)
                            ).mappings():
        state = StepState(**row)
        found.setdefault(state.flow, {})[state.label] = state
    return found


# What each step does, in the words of the people who read the page and the alerts.
WHAT = {
    "extract_products": "products read from the ERP",
    "extract_stock": "stock read from the ERP",
    "stage_catalog": "catalog checked and staged",
    "publish_content": "products published",
    "publish_prices": "prices published",
    "publish_inventory": "levels published",
    "extract_orders": "orders read from the store",
    "stage_orders": "orders checked and staged",
    "ingest_orders": "orders booked in the ERP",
    "apply_order_changes": "cancellations and refunds booked",
    "push_fulfillments": "shipments sent to the store",
    "reconcile_orders": "orders reconciled",
    "reconcile_catalog": "catalog reconciled",
}


def describe(step: str) -> str:
    """``orders booked in the ERP (ingest_orders)``: what a step does, and its task id to find it by."""
    return f"{WHAT[step]} ({step})" if step in WHAT else step
