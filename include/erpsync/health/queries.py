"""Reads of the warehouse's sync tables behind the freshness alerts and the sync-health page. Each
function is one or two indexed queries; nothing here reads payloads with personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select

from erpsync.sync.state import step_log
from erpsync.sync.state.row_errors import HELD
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


def quarantined(engine: Engine, sample: int = 5) -> list[dict[str, Any]]:
    """Open quarantine per dataset: how many rows, the checks they failed, a few keys."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(quarantine.c.source, quarantine.c.entity, quarantine.c.record_key, quarantine.c.failed_expectations,
                   quarantine.c.quarantined_at)
            .where(quarantine.c.status == "open").order_by(quarantine.c.source, quarantine.c.entity, quarantine.c.id)
            .limit(2000)).all()
        totals = dict(((s, e), n) for s, e, n in conn.execute(
            select(quarantine.c.source, quarantine.c.entity, func.count()).where(quarantine.c.status == "open")
            .group_by(quarantine.c.source, quarantine.c.entity)))
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        item = found.setdefault((row.source, row.entity), {
            "dataset": f"{row.source}.{row.entity}", "rows": totals.get((row.source, row.entity), 0), "checks": {},
            "keys": [], "oldest": row.quarantined_at})
        for check in row.failed_expectations or []:
            item["checks"][check] = item["checks"].get(check, 0) + 1
        if len(item["keys"]) < sample:
            item["keys"].append(row.record_key)
        item["oldest"] = min(item["oldest"], row.quarantined_at)
    return list(found.values())


def error_queue(engine: Engine, limit: int = 25) -> dict[str, Any]:
    """The open row errors: held publishes (with the guardrail's reason) apart from failures."""
    with engine.connect() as conn:
        groups = conn.execute(
            select(row_error.c.flow, row_error.c.operation, row_error.c.error_kind, func.count(),
                   func.max(row_error.c.attempts), func.min(row_error.c.first_failed_at),
                   func.min(row_error.c.next_attempt_at))
            .where(row_error.c.status == "open")
            .group_by(row_error.c.flow, row_error.c.operation, row_error.c.error_kind)
            .order_by(row_error.c.flow, row_error.c.operation)).all()
        rows = conn.execute(
            select(row_error.c.flow, row_error.c.operation, row_error.c.record_key, row_error.c.error_kind,
                   row_error.c.error_message, row_error.c.attempts, row_error.c.next_attempt_at)
            .where(row_error.c.status == "open").order_by(row_error.c.attempts.desc(), row_error.c.id).limit(limit)).all()
    summary = [{"flow": g[0], "operation": g[1], "kind": g[2], "rows": g[3], "max_attempts": g[4],
                "since": g[5], "next_attempt": g[6], "held": g[2] == HELD} for g in groups]
    return {"groups": summary, "rows": [dict(r._mapping) for r in rows]}


def latest_drift(engine: Engine) -> dict[str, Any] | None:
    """The counts of the latest finished reconciliation run."""
    with engine.connect() as conn:
        row = conn.execute(
            select(sync_run.c.run_id, sync_run.c.finished_at, sync_run.c.status, sync_run.c.counts)
            .where(sync_run.c.flow == "reconcile", sync_run.c.finished_at.is_not(None))
            .order_by(sync_run.c.finished_at.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


def firing_alerts(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(alert_state.c.alert_key, alert_state.c.kind, alert_state.c.title, alert_state.c.first_seen_at,
                   alert_state.c.occurrences)
            .where(alert_state.c.status == "firing").order_by(alert_state.c.first_seen_at)).mappings()]


def age_s(when: dt.datetime | None, now: dt.datetime) -> float | None:
    return (now - when).total_seconds() if when else None
