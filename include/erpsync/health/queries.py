"""Reads of the warehouse's sync tables behind the freshness alerts and the sync-health page. Each
function is one or two indexed queries; nothing here reads payloads with personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select

from erpsync.sync.state import step_log
from erpsync.sync.state.row_errors import HELD, UNRESOLVED
from erpsync.sync.state.step_log import StepState
from erpsync.warehouse.schema import alert_state, quarantine, row_error, sync_run

GOOD = ("success", "held")  # a held run synced everything but what a guardrail held


def flows(engine: Engine) -> dict[str, dict[str, Any]]:
    """Per flow: its DAG, first start, last run (status, times, error) and last successful finish."""
    with engine.connect() as conn:
        summary = conn.execute(
            select(sync_run.c.flow, func.min(sync_run.c.started_at), func.max(sync_run.c.id))
            .group_by(sync_run.c.flow)).all()
        success = dict(conn.execute(select(sync_run.c.flow, func.max(sync_run.c.finished_at))
                                    .where(sync_run.c.status.in_(GOOD)).group_by(sync_run.c.flow)).all())
        last = {r.id: r for r in conn.execute(select(sync_run).where(sync_run.c.id.in_([s[2] for s in summary])))}
    found = {}
    for flow, first_started, last_id in summary:
        row = last[last_id]
        found[flow] = {"dag_id": row.dag_id, "first_started": first_started, "last_success": success.get(flow),
                       "last_status": row.status, "last_run_id": row.run_id, "last_started": row.started_at,
                       "last_finished": row.finished_at, "last_error": row.error}
    return found


def steps(engine: Engine) -> dict[str, dict[str, StepState]]:
    """Per flow, per step: its last success, last failure and the error it raised (one query)."""
    with engine.connect() as conn:
        return step_log.read(conn)


def recent_runs(engine: Engine, flow: str, limit: int = 60) -> list[dict[str, Any]]:
    """The flow's latest finished runs, oldest first, with rows moved and how stale the data could be.

    ``staleness_s``: from the end of the previous run's window to this run's finish, i.e. the longest a
    change committed in the source just after the previous window waited to be synced."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(sync_run.c.run_id, sync_run.c.status, sync_run.c.started_at, sync_run.c.finished_at,
                   sync_run.c.window_end, sync_run.c.counts)
            .where(sync_run.c.flow == flow, sync_run.c.finished_at.is_not(None))
            .order_by(sync_run.c.finished_at.desc()).limit(limit + 1)).all()
    rows.reverse()
    runs = []
    for previous, row in zip([None, *rows], rows, strict=False):
        if previous is None and len(rows) > limit:
            continue
        seconds = max((row.finished_at - row.started_at).total_seconds(), 0.001)
        moved = rows_moved(row.counts or {})
        since = previous.window_end if previous is not None and previous.window_end else None
        runs.append({
            "run_id": row.run_id, "status": row.status, "finished_at": row.finished_at, "seconds": seconds,
            "done": done_per_step(row.counts or {}),
            "rows": moved, "rows_per_s": moved / seconds,
            "staleness_s": (row.finished_at - since).total_seconds() if since else None,
        })
    return runs[-limit:]


def rows_moved(counts: dict[str, Any]) -> int:
    """Rows a run moved: extracted from the source plus changes applied to the other system."""
    moved = 0
    for step, c in counts.items():
        if not isinstance(c, dict):
            continue
        if step.startswith("extract_"):
            moved += int(c.get("rows") or 0)
        elif step.startswith("publish_") and not c.get("dry_run"):
            moved += int(c.get("applied") or 0)
        elif step == "ingest_orders":
            moved += int(c.get("created") or 0)
    return moved


# The count in a step's result that says what it did to the other system, per step (what a reader calls it:
# step_log.WHAT). A dry run (a backfill's publish) did nothing.
DONE = {"publish_content": "applied", "publish_prices": "applied", "publish_inventory": "applied",
        "ingest_orders": "created", "apply_order_changes": ("cancellations", "refunds"),
        "push_fulfillments": "fulfilled"}


def done_per_step(counts: dict[str, Any]) -> dict[str, int]:
    """What each step of a run did: levels published, orders booked, shipments sent ..."""
    done = {}
    for step, keys in DONE.items():
        c = counts.get(step)
        if isinstance(c, dict) and not c.get("dry_run"):
            done[step] = sum(int(c.get(k) or 0) for k in ((keys,) if isinstance(keys, str) else keys))
    return done


def quarantined(engine: Engine, sample: int = 5) -> list[dict[str, Any]]:
    """Open quarantine per store and dataset: how many rows, the checks they failed, a few keys."""
    q = quarantine.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(q.store, q.source, q.entity, q.record_key, q.failed_expectations, q.quarantined_at)
            .where(q.status == "open").order_by(q.store, q.source, q.entity, q.id)
            .limit(2000)).all()
        totals = {(st, s, e): n for st, s, e, n in conn.execute(
            select(q.store, q.source, q.entity, func.count()).where(q.status == "open")
            .group_by(q.store, q.source, q.entity))}
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        item = found.setdefault((row.store, row.source, row.entity), {
            "store": row.store, "dataset": f"{row.source}.{row.entity}",
            "rows": totals.get((row.store, row.source, row.entity), 0), "checks": {},
            "keys": [], "oldest": row.quarantined_at})
        for check in row.failed_expectations or []:
            item["checks"][check] = item["checks"].get(check, 0) + 1
        if len(item["keys"]) < sample:
            item["keys"].append(row.record_key)
        item["oldest"] = min(item["oldest"], row.quarantined_at)
    return list(found.values())


PAGE_ROWS = 25  # rows per page of the per-row lists


def quarantine_rows(engine: Engine, *, dataset: str | None = None, store: str | None = None,
                    page: int = 0) -> dict[str, Any]:
    """One page of the open quarantine, row by row with its reason (oldest first), of one dataset
    (``source.entity``) or all, of one store (its name, as the rows carry it) or all; and how many there are."""
    where = [quarantine.c.status == "open"]
    if dataset:
        source, _, entity = dataset.partition(".")
        where += [quarantine.c.source == source, quarantine.c.entity == entity]
    if store:
        where.append(quarantine.c.store == store)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(quarantine).where(*where)).scalar_one()
        rows = conn.execute(
            select(quarantine.c.store, quarantine.c.source, quarantine.c.entity, quarantine.c.record_key,
                   quarantine.c.reason, quarantine.c.failed_expectations, quarantine.c.quarantined_at)
            .where(*where).order_by(quarantine.c.quarantined_at, quarantine.c.id)
            .offset(page * PAGE_ROWS).limit(PAGE_ROWS)).all()
    return {"total": total, "page": page, "dataset": dataset, "store": store,
            "rows": [{"store": r.store, "dataset": f"{r.source}.{r.entity}", "key": r.record_key, "reason": r.reason,
                      "checks": list(r.failed_expectations or []), "since": r.quarantined_at} for r in rows]}


def error_queue(engine: Engine, *, flow: str | None = None, store: str | None = None,
                page: int = 0) -> dict[str, Any]:
    """The unresolved row errors: held publishes (with the guardrail's reason), failures being retried and
    rows that gave up, per group; and one page of them row by row (of one flow or all, of one store or
    all)."""
    unresolved = row_error.c.status.in_(UNRESOLVED)
    where = [unresolved, *([row_error.c.flow == flow] if flow else []),
             *([row_error.c.store == store] if store else [])]
    with engine.connect() as conn:
        groups = conn.execute(
            select(row_error.c.flow, row_error.c.operation, row_error.c.error_kind, row_error.c.status, func.count(),
                   func.max(row_error.c.attempts), func.min(row_error.c.first_failed_at),
                   func.min(row_error.c.next_attempt_at), row_error.c.store)
            .where(unresolved)
            .group_by(row_error.c.store, row_error.c.flow, row_error.c.operation, row_error.c.error_kind,
                      row_error.c.status)
            .order_by(row_error.c.flow, row_error.c.store, row_error.c.operation)).all()
        rows = conn.execute(
            select(row_error.c.store, row_error.c.flow, row_error.c.operation, row_error.c.record_key,
                   row_error.c.error_kind,
                   row_error.c.status, row_error.c.error_message, row_error.c.attempts, row_error.c.next_attempt_at,
                   row_error.c.payload)
            .where(*where).order_by(row_error.c.status.desc(), row_error.c.attempts.desc(), row_error.c.id)
            .offset(page * PAGE_ROWS).limit(PAGE_ROWS)).all()
    summary = [{"flow": g[0], "operation": g[1], "kind": g[2], "status": g[3], "rows": g[4], "max_attempts": g[5],
                "since": g[6], "next_attempt": g[7], "store": g[8], "held": g[2] == HELD} for g in groups]
    total = sum(g["rows"] for g in summary if (not flow or g["flow"] == flow) and (not store or g["store"] == store))
    return {"groups": summary, "total": total, "page": page, "flow": flow, "store": store,
            "rows": [{**dict(r._mapping), "held": r.error_kind == HELD,
                      "payload": _held_payload(r.payload) if r.error_kind == HELD else None} for r in rows]}


def _held_payload(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a held row holds back (prices, a change): no personal data, unlike an order's payload."""
    return {k: payload[k] for k in ("from", "to", "move", "change", "product") if k in payload} if payload else None


def latest_drift(engine: Engine) -> dict[str, Any] | None:
    """The counts of the latest finished reconciliation run."""
    with engine.connect() as conn:
        row = conn.execute(
            select(sync_run.c.store, sync_run.c.run_id, sync_run.c.finished_at, sync_run.c.status, sync_run.c.counts)
            .where(sync_run.c.flow == "reconcile", sync_run.c.finished_at.is_not(None))
            .order_by(sync_run.c.finished_at.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


def firing_alerts(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(alert_state.c.alert_key, alert_state.c.store, alert_state.c.kind, alert_state.c.title,
                   alert_state.c.first_seen_at, alert_state.c.occurrences)
            .where(alert_state.c.status == "firing").order_by(alert_state.c.first_seen_at)).mappings()]


def age_s(when: dt.datetime | None, now: dt.datetime) -> float | None:
    return (now - when).total_seconds() if when else None


def store_events(engine: Engine, now: dt.datetime, recent_runs: int = 60) -> dict[str, dict[str, Any]]:
    """Per store: how its changes arrive. Its webhooks' last event and the last hour's deliveries by
    outcome (``store_event``), and whether the latest order run that staged orders was started by an
    event, by the poll or by hand (the Airflow run id says: ``asset_triggered__``, ``scheduled__``,
    ``manual__``). Two queries whatever the number of stores."""
    from erpsync.warehouse.schema import store_event

    hour_ago = now - dt.timedelta(hours=1)
    found: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for store, outcome, last, recent in conn.execute(
                select(store_event.c.store, store_event.c.outcome, func.max(store_event.c.received_at),
                       func.count().filter(store_event.c.received_at >= hour_ago))
                .group_by(store_event.c.store, store_event.c.outcome)).all():
            info = found.setdefault(store, {"last_event": None, "last_hour": {}, "last_staged_by": None})
            if outcome != "refused" and (info["last_event"] is None or last > info["last_event"]):
                info["last_event"] = last
            if recent:
                info["last_hour"][outcome] = recent
        runs = conn.execute(select(sync_run.c.store, sync_run.c.run_id, sync_run.c.counts,
                                   sync_run.c.started_at)
                            .where(sync_run.c.flow == "orders").order_by(sync_run.c.id.desc())
                            .limit(recent_runs)).all()
    for store, run_id, counts, started in runs:
        info = found.setdefault(store, {"last_event": None, "last_hour": {}, "last_staged_by": None})
        if info["last_staged_by"] is None and ((counts or {}).get("stage_orders") or {}).get("staged"):
            info["last_staged_by"] = (_started_by(run_id), started)
    return found


def _started_by(run_id: str) -> str:
    kind = run_id.split("__", 1)[0]
    return {"asset_triggered": "event", "scheduled": "poll", "manual": "by hand", "backfill": "backfill"}.get(
        kind, kind)
