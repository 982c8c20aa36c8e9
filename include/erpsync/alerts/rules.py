"""What alerts are about, and when each clears:

- a task failed after its retries (:mod:`erpsync.alerts.notifier`); clears when a run of the flow succeeds;
- rows went to quarantine; clears when none of the dataset's rows is held any more;
- a guardrail held a publish; clears when a publish goes through unheld;
- data is stale: a step of a flow did not succeed within the flow's freshness window, each step on its
  own (checked by ``sync_watch``); clears when that step succeeds;
- rows of the error queue are stuck past their retry budget (``sync_watch``);
- reconciliation found drift above its threshold (``reconcile``);
- a store's webhooks went silent while its orders kept changing (``sync_watch``); clears when an event
  arrives again;
- a change of a booked order (a cancellation, an edit) the ERP can no longer follow (``sync_watch``);
  clears once none was recorded for a while.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, Text, cast, func, select

from erpsync.alerts.book import Alert, AlertBook, duration, store_key
from erpsync.sync.state.step_log import StepState, describe
from erpsync.warehouse.schema import NOT_OF_A_STORE, alert_state, quarantine

GUARDRAILS = ("price_swing", "catalog_shrink")
QUARANTINE_SAMPLE = 5


def run_url(dag_id: str, run_id: str) -> str:
    from urllib.parse import quote

    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="http://127.0.0.1:8080").rstrip("/")
    return f"{base}/dags/{quote(dag_id)}/runs/{quote(run_id)}"


def task_url(dag_id: str, run_id: str, task_id: str, try_number: int | None = None) -> str:
    """The task instance's page in the Airflow UI, which opens on its log (of ``try_number``)."""
    from urllib.parse import quote

    url = f"{run_url(dag_id, run_id)}/tasks/{quote(task_id)}"
    return f"{url}?try_number={try_number}" if try_number else url


def failure_key(dag_id: str, task_id: str, store: str = NOT_OF_A_STORE) -> str:
    return store_key(store, f"{dag_id}/failure/{task_id}")


def after_run(book: AlertBook, *, dag_id: str, run_id: str, counts: dict[str, Any], datasets: list[tuple[str, str]],
              now: dt.datetime, succeeded: bool = True, store: str = NOT_OF_A_STORE) -> None:
    """Fire or clear the alerts a run's outcome calls for; ``datasets`` are the (source, entity) it stages,
    ``store`` the run's (``sync_run.store``). A run in which every step succeeded resolves the task failures
    of earlier runs (of its store). A publish's hold is the store's it publishes to (its counts say which)."""
    url = run_url(dag_id, run_id)
    if succeeded:
        for alert in book.firing(failure_key(dag_id, "", store)):
            book.clear(alert["alert_key"], now, run_url=url)
    publishes = {step: c for step, c in counts.items() if step.startswith("publish_")}
    if publishes and not any(c.get("dry_run") for c in publishes.values()):
        held = {hold["guardrail"]: hold for c in publishes.values() for hold in c.get("held") or ()}
        published_to = next((c["store"] for c in publishes.values() if c.get("store")), store)
        for guardrail in GUARDRAILS:
            key = store_key(published_to, f"{dag_id}/guardrail/{guardrail}")
            if guardrail in held:
                hold = held[guardrail]
                book.fire(Alert(key, "guardrail", f"HELD {dag_id}: the {guardrail} guardrail held a publish", [
                    hold["reason"], f"{hold['count']} held, e.g. {', '.join(hold['sample'])}", _summary(counts),
                ], dag_id, run_id, url, published_to), now)
            else:
                book.clear(key, now, run_url=url)
    for source, entity in datasets:
        of = store if source == "store" else NOT_OF_A_STORE
        key = store_key(of, f"{dag_id}/quarantine/{source}.{entity}")
        open_rows, by_check, sample = _open_quarantine(book.engine, of, source, entity)
        if open_rows:
            checks = ", ".join(f"{check}: {n}" for check, n in sorted(by_check.items()))
            book.fire(Alert(key, "quarantine", f"QUARANTINE {source}.{entity}: {open_rows} row(s) held back", [
                f"Failed checks: {checks}",
                f"Keys, e.g.: {', '.join(sample)}",
                "They do not reach the other system; fixing them at the source releases them on the next run. "
                "Details (reason per row) in the warehouse table quarantine.",
            ], dag_id, run_id, url, of), now)
        else:
            book.clear(key, now, run_url=url)


def _open_quarantine(engine: Engine, store: str, source: str, entity: str) -> tuple[int, dict[str, int], list[str]]:
    where = (quarantine.c.store == store, quarantine.c.source == source, quarantine.c.entity == entity,
             quarantine.c.status == "open")
    with engine.connect() as conn:
        rows = conn.execute(select(quarantine.c.record_key, quarantine.c.failed_expectations).where(*where)
                            .order_by(quarantine.c.id)).all()
        total = conn.execute(select(func.count()).select_from(quarantine).where(*where)).scalar_one()
    by_check: dict[str, int] = {}
    for _, checks in rows:
        for check in checks:
            by_check[check] = by_check.get(check, 0) + 1
    return total, by_check, [key for key, _ in rows[:QUARANTINE_SAMPLE]]


def _summary(counts: dict[str, Any]) -> str:
    parts = []
    for step, c in counts.items():
        figures = {k: c[k] for k in ("rows", "staged", "quarantined", "changed", "applied", "failed") if k in c}
        if figures:
            parts.append(f"{step} " + " ".join(f"{k}={v}" for k, v in figures.items()))
    return "Run counts: " + "; ".join(parts)


# -- checks over the warehouse's sync tables (sync_watch) -----------------------------------------

def check_freshness(book: AlertBook, *, flows: dict[str, dict[str, Any]], steps: dict[str, dict[str, StepState]],
                    freshness_minutes: dict[str, float], now: dt.datetime) -> dict[str, dict[str, float | None]]:
    """Each step of a flow is stale on its own when it has not succeeded within the flow's freshness
    window: the alert names the step, what it raised last, and the steps that are still fresh ("orders
    are booked, shipments have failed for 40 minutes"). A flow whose steps never finished a run (no
    ``sync_step`` rows) is stale as a whole. ``flows``: flow -> {"dag_id", "last_success",
    "first_started"} (the run log); ``steps``: flow -> step -> its state (:mod:`step_log`).

    Returns per flow, per step, its data age in seconds (None: it never succeeded)."""
    ages: dict[str, dict[str, float | None]] = {}
    for flow, window in freshness_minutes.items():
        info = flows.get(flow) or {}
        if not info.get("first_started"):  # never ran: not deployed (or not unpaused) yet
            continue
        states = steps.get(flow) or {}
        if not states:
            ages[flow] = {}
            _flow_freshness(book, flow, info, window, now)
            continue
        book.clear(f"{flow}/stale", now)  # the whole flow's alert, from before steps were watched one by one
        ages[flow] = {step: (now - state.last_success_at).total_seconds() if state.last_success_at else None
                      for step, state in states.items()}
        fresh = {step: state for step, state in states.items()
                 if state.last_success_at and now - state.last_success_at <= dt.timedelta(minutes=window)}
        for step, state in states.items():
            if step in fresh:
                book.clear(_stale_key(flow, state), now)
            else:
                book.fire(_stale_step(flow, state, since=state.last_success_at or info["first_started"],
                                      window=window, fresh=fresh, now=now), now)
    return ages


def _stale_step(flow: str, state: StepState, *, since: dt.datetime, window: float, fresh: dict[str, StepState],
                now: dt.datetime) -> Alert:
    """The alert of one stale step: since when, what it raised last (with its log), what is still fresh (of
    its store, or of the ERP side)."""
    fresh = {label: other for label, other in fresh.items() if other.store == state.store}
    step = state.step
    details = [f"Last success of {step}: "
               + (state.last_success_at.isoformat(timespec="seconds") if state.last_success_at else "never")
               + f"; freshness window {window:g} min."]
    if state.last_error:
        details.append(f"Last error ({state.last_error_run_id}, try {state.last_error_try}): {state.last_error}")
    elif state.failing:
        details.append(f"It produced no result in run {state.last_failed_run_id} (see its log).")
    if fresh:
        details.append("Still fresh: " + "; ".join(
            f"{describe(other_state.step)} {_ago(now - other_state.last_success_at)}"
            for other_state in fresh.values()) + ".")
    details.append("The failed try's log (link below) says more; the sync-health page shows each step's freshness "
                   "and last error.")
    failed_run = state.last_error_run_id or state.last_failed_run_id
    link = task_url(state.dag_id, failed_run, step, state.last_error_try if state.last_error_run_id else None) \
        if failed_run else None
    where = f" in {state.store}" if state.store else ""
    return Alert(_stale_key(flow, state), "stale",
                 f"STALE {flow}{where}: {describe(step)} not done for {duration(now - since)}",
                 details, state.dag_id, failed_run, link, state.store)


def _stale_key(flow: str, state: StepState) -> str:
    return store_key(state.store, f"{flow}/{state.step}/stale")


def _ago(delta: dt.timedelta) -> str:
    return "under a minute ago" if delta < dt.timedelta(minutes=1) else f"{duration(delta)} ago"


def _flow_freshness(book: AlertBook, flow: str, info: dict[str, Any], window: float, now: dt.datetime) -> None:
    key = f"{flow}/stale"
    since = info.get("last_success") or info["first_started"]
    age = now - since
    if age > dt.timedelta(minutes=window):
        last = info["last_success"].isoformat(timespec="seconds") if info.get("last_success") else "never"
        book.fire(Alert(key, "stale", f"STALE {flow}: no successful {flow} sync for {duration(age)}", [
            f"Last successful run: {last}; freshness window {window:g} min.",
            f"Check that the DAG {info.get('dag_id', flow)} is unpaused, that the scheduler runs, and the "
            "latest run's failed task (its own alert says why).",
        ], info.get("dag_id"), None, None), now)
    else:
        book.clear(key, now)


def check_stuck_rows(book: AlertBook, engine: Engine, *, max_attempts: int, now: dt.datetime) -> dict[str, int]:
    """One alert per store and flow whose error queue holds rows that failed ``max_attempts`` times or more
    (held-by-guardrail rows are the guardrail alert's business). Returns the count per flow (with its
    store in front when it is a store's: ``shop-eu/orders``)."""
    from erpsync.sync.state.row_errors import HELD
    from erpsync.warehouse.schema import row_error

    with engine.connect() as conn:
        rows = conn.execute(
            select(row_error.c.store, row_error.c.flow, row_error.c.operation, row_error.c.record_key,
                   row_error.c.error_kind, row_error.c.attempts)
            .where(row_error.c.status == "open", row_error.c.attempts >= max_attempts, row_error.c.error_kind != HELD)
            .order_by(row_error.c.store, row_error.c.flow, row_error.c.first_failed_at)
        ).all()
        flows = set(conn.execute(select(row_error.c.store, row_error.c.flow).distinct()).tuples())
    stuck: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        stuck.setdefault((row.store, row.flow), []).append(row)
    for store, flow in sorted(flows | set(stuck)):
        key = store_key(store, f"{flow}/stuck_rows")
        found = stuck.get((store, flow))
        if not found:
            book.clear(key, now)
            continue
        kinds: dict[str, int] = {}
        for row in found:
            kinds[f"{row.operation} {row.error_kind}"] = kinds.get(f"{row.operation} {row.error_kind}", 0) + 1
        where = f" in {store}" if store else ""
        book.fire(Alert(key, "row_errors", f"STUCK {flow}{where}: {len(found)} row(s) failed {max_attempts}+ times", [
            "Errors: " + ", ".join(f"{kind}: {n}" for kind, n in sorted(kinds.items())),
            f"Keys, e.g.: {', '.join(r.record_key for r in found[:QUARANTINE_SAMPLE])}",
            "Table row_error has each row's last error; they are retried with backoff and resolve themselves "
            "once the cause is fixed.",
        ], store=store), now)
    return {store_key(store, flow): len(found) for (store, flow), found in stuck.items()}


def check_drift(book: AlertBook, *, dag_id: str, run_id: str, area: str, drift: dict[str, int], threshold: int,
                now: dt.datetime, store: str = NOT_OF_A_STORE) -> None:
    """Reconciliation's figures for one area (catalog or orders) of ``store``: alert above ``threshold``."""
    key = store_key(store, f"{dag_id}/drift/{area}")
    total = sum(drift.values())
    url = run_url(dag_id, run_id)
    if total > threshold:
        book.fire(Alert(key, "drift", f"DRIFT {area}: {total} difference(s) between the store and the "
                        f"{'desired state' if area == 'catalog' else 'ERP'}", [
            "Found: " + ", ".join(f"{name}: {n}" for name, n in sorted(drift.items()) if n),
            f"Threshold {threshold}. Reconciliation repaired what it could (see the run's counts); drift that "
            "comes back means something else writes to the store, or a flow is not running.",
        ], dag_id, run_id, url, store), now)
    else:
        book.clear(key, now, run_url=url)



def check_webhooks(book: AlertBook, engine: Engine, *, silence_minutes: float,
                   now: dt.datetime) -> dict[str, float]:
    """*STALE webhooks* per store whose webhooks once arrived (a row in ``store_event`` that was not
    refused) and whose orders kept changing since without an event: the newest order change staged (by
    the safety-net poll, the store's clock) is more than ``silence_minutes`` later than the last event.
    The order flow keeps polling meanwhile; each such minute is latency, not a lost order. Returns, per
    such store, the minutes since its last event."""
    from erpsync.warehouse.schema import stg_order, store_event

    window = dt.timedelta(minutes=silence_minutes)
    with engine.connect() as conn:
        last_events = dict(conn.execute(
            select(store_event.c.store, func.max(store_event.c.received_at))
            .where(store_event.c.outcome != "refused").group_by(store_event.c.store)).all())
        refused = dict(conn.execute(
            select(store_event.c.store, func.count()).where(store_event.c.outcome == "refused",
                                                            store_event.c.received_at >= now - window)
            .group_by(store_event.c.store)).all())
        newest_orders = dict(conn.execute(
            select(stg_order.c.store, func.max(stg_order.c.store_updated_at))
            .where(stg_order.c.store.in_(list(last_events))).group_by(stg_order.c.store)).all())
    silent: dict[str, float] = {}
    for store, last_event in sorted(last_events.items()):
        key = store_key(store, "webhooks/silent")
        newest = newest_orders.get(store)
        if newest is None or newest - last_event <= window:
            book.clear(key, now)
            continue
        silent[store] = round((now - last_event).total_seconds() / 60, 1)
        details = [f"Last event {duration(now - last_event)} ago; orders changed in the store since "
                   f"(the newest {duration(now - newest)} ago), read by the safety-net poll instead.",
                   "Check the store's webhook subscriptions (DAG reconcile, task subscribe_webhooks, makes "
                   "sure of them) and that the store can reach Airflow's API server at [erpsync] "
                   "webhook_base_url."]
        if refused.get(store):
            details.append(f"{refused[store]} deliveries were refused in that time (signature): is the store "
                           "Connection's webhook_secret the app's client secret?")
        book.fire(Alert(key, "stale", f"STALE webhooks of {store}: silent while its orders change", details,
                        store=store), now)
    return silent


def check_not_applied(book: AlertBook, engine: Engine, *, within_hours: float,
                      now: dt.datetime) -> dict[str, int]:
    """*NOT APPLIED* per store: changes of booked orders (a cancellation, an edit) the ERP can no longer
    follow because goods already left, recorded in the last ``within_hours``: a person must settle them in
    the ERP (a return, a new sale). Clears once that long passed without another. Returns the count per
    store."""
    from erpsync.warehouse.schema import order_adjustment, stg_order

    since = now - dt.timedelta(hours=within_hours)
    with engine.connect() as conn:
        rows = conn.execute(
            select(order_adjustment.c.store, order_adjustment.c.kind, order_adjustment.c.detail,
                   stg_order.c.order_name)
            .outerjoin(stg_order, (stg_order.c.store == order_adjustment.c.store)
                       & (stg_order.c.store_order_id == order_adjustment.c.store_order_id))
            .where(order_adjustment.c.state == "not_possible", order_adjustment.c.updated_at >= since)
            .order_by(order_adjustment.c.store, order_adjustment.c.updated_at)).all()
        stores = set(conn.execute(select(order_adjustment.c.store).distinct()).scalars())
    found: dict[str, list[Any]] = {}
    for row in rows:
        found.setdefault(row.store, []).append(row)
    for store in sorted(stores | set(found)):
        key = store_key(store, "orders/not_applied")
        changes = found.get(store)
        if not changes:
            book.clear(key, now)
            continue
        kinds: dict[str, int] = {}
        for row in changes:
            kinds[row.kind] = kinds.get(row.kind, 0) + 1
        where = f" in {store}" if store else ""
        title = f"NOT APPLIED orders{where}: {len(changes)} order change(s) the ERP cannot follow"
        book.fire(Alert(key, "not_applied", title, [
            "Kinds: " + ", ".join(f"{kind}: {n}" for kind, n in sorted(kinds.items())),
            *(f"{row.order_name or '?'} {row.kind}: {row.detail}" for row in changes[:QUARANTINE_SAMPLE]),
            f"Recorded in the last {within_hours:g} h (table order_adjustment, state not_possible): the "
            "goods already left the warehouse, so the ERP's sale must be settled by hand (a return, a new "
            "sale).",
        ], store=store), now)
    return {store: len(changes) for store, changes in found.items()}


def check_returns_waiting(book: AlertBook, engine: Engine, *, after_hours: float,
                          now: dt.datetime) -> dict[str, int]:
    """*WAITING returns* per store: returns the store processed longer than ``after_hours`` ago (by the
    store's clock) that are still not settled (units not processed or not disposed of, and the return
    not closed). The ERP books a return only once it is settled, so until someone in the store disposes
    of the goods (restocked or not) or closes the return, its goods and money stay out of the ERP.
    Clears once none waits that long. Returns the count per store."""
    from erpsync.warehouse.schema import stg_order

    before = now - dt.timedelta(hours=after_hours)
    found: dict[str, list[tuple[str, str, dt.datetime]]] = {}
    with engine.connect() as conn:
        # Only orders with an unsettled return: not every staged order (their returns are mostly []).
        # Both engines render the JSON as text with ": " (SQLAlchemy's json.dumps, PostgreSQL's jsonb).
        rows = conn.execute(select(stg_order.c.store, stg_order.c.order_name, stg_order.c.returns)
                            .where(cast(stg_order.c.returns, Text).like('%"settled": false%'))
                            .order_by(stg_order.c.store, stg_order.c.order_name)).all()
        # Stores whose alert fires, to clear it once none of their returns waits any more.
        stores = set(conn.execute(select(alert_state.c.store).where(
            alert_state.c.kind == "waiting", alert_state.c.status == "firing")).scalars())
    for row in rows:
        for ret in row.returns or ():
            stores.add(row.store)
            since = dt.datetime.fromisoformat(ret["happened_at"])
            if not ret.get("settled", True) and since <= before:
                found.setdefault(row.store, []).append((row.order_name, ret["return_id"], since))
    for store in sorted(stores):
        key = store_key(store, "orders/returns_waiting")
        waiting = found.get(store)
        if not waiting:
            book.clear(key, now)
            continue
        where = f" in {store}" if store else ""
        title = f"WAITING returns{where}: {len(waiting)} return(s) not settled after {after_hours:g} h"
        book.fire(Alert(key, "waiting", title, [
            *(f"{name or '?'} return {ret_id}: processed {_ago(now - since)} ago"
              for name, ret_id, since in sorted(waiting, key=lambda w: w[2])[:QUARANTINE_SAMPLE]),
            "The ERP books a return once every unit is processed and disposed of (restocked or not), or "
            "the return is closed: dispose of the goods or close the return in the store's admin.",
        ], store=store), now)
    return {store: len(waiting) for store, waiting in found.items()}
