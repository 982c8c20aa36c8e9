"""The sync-health page: one server-rendered HTML document (no scripts, no external assets), with SVG
charts of data staleness and throughput over recent runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine

from erpsync.alerts.rules import task_url
from erpsync.health import queries
from erpsync.sync.state.step_log import WHAT, StepState, describe

FLOWS = ("catalog", "orders", "reconcile")
CHART_RUNS = 60
# Airflow's own page of the questions waiting for a person (DAG review_held asks them).
REQUIRED_ACTIONS = "/required_actions?response_received=false"
# The flow whose run re-reads a quarantined row of a dataset (Param ``skus`` for the catalog).
REREAD_BY = {"erp": "catalog_sync", "store": "orders_sync"}


@dataclass(frozen=True)
class View:
    """What the reader asked the per-row lists for (query parameters of the page)."""

    dataset: str | None = None  # quarantine of one dataset (source.entity)
    q_page: int = 0
    flow: str | None = None  # error queue of one flow
    e_page: int = 0
    store: str | None = None  # both lists: the rows of one store (its name)


def snapshot(engine: Engine, freshness_minutes: dict[str, float], now: dt.datetime,
             view: View = View()) -> dict[str, Any]:
    """Everything the page shows, read from the warehouse's sync tables."""
    flows = queries.flows(engine)
    return {
        "now": now,
        "flows": {flow: {**flows.get(flow, {}), "runs": queries.recent_runs(engine, flow, CHART_RUNS),
                         "window_min": freshness_minutes.get(flow)}
                  for flow in (*FLOWS, *sorted(set(flows) - set(FLOWS)))},
        "steps": queries.steps(engine),
        "quarantine": queries.quarantined(engine),
        "quarantine_rows": queries.quarantine_rows(engine, dataset=view.dataset, store=view.store,
                                                   page=view.q_page),
        "errors": queries.error_queue(engine, flow=view.flow, store=view.store, page=view.e_page),
        "drift": queries.latest_drift(engine),
        "alerts": queries.firing_alerts(engine),
        "events": queries.store_events(engine, now),
    }


def render(data: dict[str, Any], *, queries_used: int | None = None, elapsed_ms: float | None = None) -> str:
    now = data["now"]
    parts = [_HEAD, f"<h1>Sync health</h1><p class=muted>As of {_when(now)} UTC. Read from the warehouse's "
             "sync tables (sync_run, sync_step, quarantine, row_error, alert_state).</p>"]
    parts.append(_alerts(data["alerts"]))
    parts.append("<h2>Flows</h2>" + _flows_table(data["flows"], now))
    parts.append("<h2>Steps</h2>" + _steps_table(data["steps"], data["flows"], now))
    parts.append("<h2>How store changes arrive</h2>" + _events_table(data["events"], now))
    for flow, info in data["flows"].items():
        if info.get("runs"):
            parts.append(f"<h3>{escape(flow)}: recent runs</h3><div class=charts>"
                         + _chart(info["runs"], "staleness_s", "Data staleness at run end (s)", info.get("window_min"))
                         + _chart(info["runs"], "rows_per_s", "Throughput (rows/s)") + "</div>")
    parts.append("<h2>Quarantined rows</h2>" + _quarantine(data["quarantine"])
                 + _quarantine_rows(data["quarantine_rows"]))
    parts.append("<h2>Held publishes and the error queue</h2>" + _errors(data["errors"]))
    parts.append("<h2>Latest reconciliation</h2>" + _drift(data["drift"]))
    if queries_used is not None:
        parts.append(f"<p class=muted id=cost>Page cost: {queries_used} queries, {elapsed_ms:.0f} ms.</p>")
    return "".join(parts) + "</body></html>"


_HEAD = """<!doctype html><html lang=en><head><meta charset=utf-8><title>Sync health</title>
<meta http-equiv=refresh content=30>
<style>
body{font-family:system-ui,sans-serif;margin:1.2rem 1.6rem;color:#1f2933;background:#fff}
h1{margin:0 0 .2rem}h2{margin-top:1.6rem;border-bottom:1px solid #d9e2ec;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.9rem;margin:.4rem 0}td,th{border:1px solid #d9e2ec;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#f0f4f8}.muted{color:#627d98;font-size:.85rem}
.ok{color:#137333;font-weight:600}.bad{color:#c5221f;font-weight:600}.warn{color:#b06000;font-weight:600}
.charts{display:flex;gap:1.2rem;flex-wrap:wrap}.alert{background:#fce8e6;border:1px solid #f5c2c0;padding:.4rem .6rem;
margin:.3rem 0}.none{color:#137333}
</style></head><body>"""


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "never"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _alerts(alerts: list[dict[str, Any]]) -> str:
    if not alerts:
        return "<p class=none id=alerts>No alert firing.</p>"
    return "<div id=alerts>" + "".join(
        f"<div class=alert{_store_attr(a['store'])}><b>{escape(a['title'])}</b> "
        f"<span class=muted>since {_when(a['first_seen_at'])}, "
        f"seen by {a['occurrences']} run(s)</span></div>" for a in alerts) + "</div>"


def _flows_table(flows: dict[str, dict[str, Any]], now: dt.datetime) -> str:
    rows = []
    for flow, info in flows.items():
        runs = info.get("runs") or []
        age = queries.age_s(info.get("last_success"), now)
        window = info.get("window_min")
        state = "n/a" if age is None else ("stale" if window and age > window * 60 else "fresh")
        css = {"stale": "bad", "fresh": "ok"}.get(state, "muted")
        done: dict[str, int] = {}
        for run in runs:
            for step, n in run["done"].items():
                done[step] = done.get(step, 0) + n
        moved = "<br>".join(f"{n:,} {escape(WHAT.get(step, step))}" for step, n in done.items()) or "-"
        failed = sum(1 for r in runs if r["status"] == "failed")
        rows.append(
            f"<tr id=flow-{escape(flow)}><td>{escape(flow)}</td><td>{escape(info.get('dag_id') or '-')}</td>"
            f"<td>{_when(info.get('last_success'))}</td><td class={css}>{_age(age)} ({state})</td>"
            f"<td>{escape(info.get('last_status') or '-')}</td><td>{len(runs)}</td><td>{failed}</td>"
            f"<td>{moved}</td><td>{escape((info.get('last_error') or '')[:200])}</td></tr>")
    return ("<table><tr><th>Flow</th><th>DAG</th><th>Last success (UTC)</th><th>Data freshness</th>"
            "<th>Last run</th><th>Recent runs</th><th>Failed</th><th>Done in those runs</th><th>Last error</th></tr>"
            + "".join(rows) + "</table>")


def _events_table(events: dict[str, dict[str, Any]], now: dt.datetime) -> str:
    if not events:
        return "<p class=muted id=events>No order run and no webhook yet.</p>"
    rows = []
    for store, info in sorted(events.items()):
        by, started = info["last_staged_by"] or ("-", None)
        hour = ", ".join(f"{n} {escape(outcome)}"
                         for outcome, n in sorted(info["last_hour"].items())) or "none"
        css = "ok" if by == "event" else ("warn" if by == "poll" and info["last_event"] else "muted")
        rows.append(f"<tr{_store_attr(store)}><td>{escape(store)}</td><td class={css}>{escape(by)}"
                    f"{f' ({_when(started)})' if started else ''}</td>"
                    f"<td>{_last_event(info['last_event'], now)}</td>"
                    f"<td>{hour}</td></tr>")
    return ("<table id=events><tr><th>Store</th><th>Its last new orders came by</th>"
            "<th>Last webhook event (UTC)</th>"
            "<th>Deliveries in the last hour</th></tr>" + "".join(rows) + "</table>"
            "<p class=muted>Table store_event has every event and what it caused (run, ignored, echo, stale, "
            "refused; a repeated delivery is counted on its event). "
            "A store without webhooks gets its orders by "
            "the poll.</p>")


def _last_event(when: dt.datetime | None, now: dt.datetime) -> str:
    return f"{_when(when)} ({_age(queries.age_s(when, now))} ago)" if when else "never"


def _steps_table(steps: dict[str, dict[str, StepState]], flows: dict[str, dict[str, Any]], now: dt.datetime) -> str:
    """Each step on its own: a flow run fails when one step does, the others may well be fresh."""
    if not steps:
        return "<p class=muted id=steps>No flow run has finished yet.</p>"
    rows = []
    for flow, by_step in steps.items():
        window = (flows.get(flow) or {}).get("window_min")
        for state in by_step.values():
            step = state.step
            age = queries.age_s(state.last_success_at, now)
            fresh = age is not None and (not window or age <= window * 60)
            css, verdict = ("ok", "fresh") if fresh else ("bad", "stale") if window else ("muted", "n/a")
            error, log = escape(state.last_error or ""), ""
            failed_run = state.last_error_run_id or state.last_failed_run_id
            if failed_run:
                url = task_url(state.dag_id, failed_run, step, state.last_error_try if state.last_error_run_id else None)
                log = f" <a href='{escape(url)}' target=_top class=log>log of {escape(failed_run)}</a>"
            if state.failing and not error:
                error = "no result (see its log)"
            rows.append(
                # One id per row: the same step of two stores (or of a store and the ERP side) differs by store.
                f"<tr id='step-{escape(flow)}-{escape(step)}{escape('@' + state.store if state.store else '')}'"
                f"{_store_attr(state.store)}><td>{escape(flow)}"
                f"{_in_store(state.store)}</td><td>{escape(describe(step))}</td>"
                f"<td>{_when(state.last_success_at)}</td><td class={css}>{_age(age)} ({verdict})</td>"
                f"<td>{_when(state.last_failed_at)}</td><td>{error}{log}</td></tr>")
    return ("<table id=steps><tr><th>Flow</th><th>Step</th><th>Last success (UTC)</th><th>Freshness</th>"
            "<th>Last failure (UTC)</th><th>Last error</th></tr>" + "".join(rows) + "</table>")


def _chart(runs: list[dict[str, Any]], key: str, title: str, limit_min: float | None = None) -> str:
    """A small SVG line chart of ``key`` over the runs (oldest left)."""
    points = [(i, r[key]) for i, r in enumerate(runs) if r.get(key) is not None]
    width, height, pad = 420, 150, 30
    if not points:
        return f"<figure><figcaption>{escape(title)}</figcaption><p class=muted>no data yet</p></figure>"
    limit = limit_min * 60 if limit_min and key == "staleness_s" else None
    top = max([v for _, v in points] + ([limit] if limit else [])) or 1.0
    span = max(len(runs) - 1, 1)

    def xy(i: float, v: float) -> str:
        return f"{pad + i * (width - pad - 8) / span:.1f},{height - pad + 8 - v * (height - pad) / top:.1f}"

    line = " ".join(xy(i, v) for i, v in points)
    dots = "".join(f"<circle cx={xy(i, v).split(',')[0]} cy={xy(i, v).split(',')[1]} r=2.2 fill=#2f6fb0>"
                   f"<title>{runs[i]['run_id']}: {v:.1f}</title></circle>" for i, v in points)
    limit_line = ""
    if limit:
        y = xy(0, limit).split(",")[1]
        limit_line = (f"<line x1={pad} x2={width - 8} y1={y} y2={y} stroke=#c5221f stroke-dasharray=4 />"
                      f"<text x={width - 10} y={float(y) + 11} text-anchor=end font-size=10 fill=#c5221f>"
                      f"freshness window</text>")
    return (f"<figure><figcaption>{escape(title)}</figcaption><svg width={width} height={height} role=img>"
            f"<line x1={pad} y1={height - pad + 8} x2={width - 8} y2={height - pad + 8} stroke=#9fb3c8 />"
            f"<line x1={pad} y1=8 x2={pad} y2={height - pad + 8} stroke=#9fb3c8 />"
            f"<text x={pad - 4} y=14 text-anchor=end font-size=10>{top:,.0f}</text>"
            f"<text x={pad - 4} y={height - pad + 8} text-anchor=end font-size=10>0</text>"
            f"{limit_line}<polyline fill=none stroke=#2f6fb0 stroke-width=1.5 points='{line}' />{dots}"
            f"<text x={pad} y={height - 6} font-size=10 fill=#627d98>{len(runs)} runs, oldest left</text>"
            "</svg></figure>")


def _quarantine(items: list[dict[str, Any]]) -> str:
    if not items:
        return "<p class=none id=quarantine>No row in quarantine.</p>"
    rows = "".join(
        f"<tr><td><a href='?{_query(dataset=i['dataset'], store=i['store'])}#quarantine-rows'>"
        f"{escape(i['dataset'])}</a>"
        f"{_in_store(i['store'])}</td>"
        f"<td>{i['rows']}</td><td>{escape(', '.join(f'{c}: {n}' for c, n in sorted(i['checks'].items())))}</td>"
        f"<td>{escape(', '.join(i['keys']))}</td><td>{_when(i['oldest'])}</td></tr>" for i in items)
    return ("<table id=quarantine><tr><th>Dataset (filter)</th><th>Rows</th><th>Failed checks</th><th>Keys, e.g.</th>"
            "<th>Oldest</th></tr>" + rows + "</table>")


def _pages(listing: dict[str, Any], page_param: str, filters: dict[str, str | None], anchor: str) -> str:
    """'Rows 26-50 of 60', with links to the pages before and after (keeping the list's filter)."""
    first, total = listing["page"] * queries.PAGE_ROWS, listing["total"]
    kept = {k: v for k, v in filters.items() if v}

    def link(page: int, text: str) -> str:
        return f"<a href='?{urlencode({**kept, page_param: page})}#{anchor}'>{text}</a>"

    nav = [f"Rows {first + 1 if listing['rows'] else 0}-{first + len(listing['rows'])} of {total}"]
    if listing["page"] > 0:
        nav.append(link(listing["page"] - 1, "previous"))
    if first + len(listing["rows"]) < total:
        nav.append(link(listing["page"] + 1, "next"))
    if kept:
        nav.append(f"<a href='?#{anchor}'>all</a>")
    return f"<p class=muted>{' · '.join(nav)}</p>"


def _quarantine_rows(listing: dict[str, Any]) -> str:
    if not listing["total"]:
        return ""
    rows = []
    for r in listing["rows"]:
        dag = REREAD_BY.get(r["dataset"].split(".")[0], "catalog_sync")
        rows.append(
            f"<tr><td>{escape(r['key'])}</td><td>{escape(r['dataset'])}{_in_store(r['store'], 'quarantine-rows')}</td>"
            f"<td>{escape(r['reason'] or '')}</td>"
            f"<td>{escape(', '.join(r['checks']))}</td><td>{_when(r['since'])}</td>"
            f"<td>Fix it at the source: the next run releases it (or <a target=_top href='/dags/{dag}'>trigger "
            f"{dag}</a>{' with skus' if dag == 'catalog_sync' else ''})</td></tr>")
    return (f"<h3 id=quarantine-rows>Row by row{_filtered(listing['dataset'], listing['store'])}"
            "</h3><table><tr><th>Key</th><th>Dataset</th><th>Reason</th><th>Failed checks</th><th>Since</th>"
            "<th>Release</th></tr>" + "".join(rows) + "</table>"
            + _pages(listing, "q_page", {"dataset": listing["dataset"], "store": listing["store"]},
                     "quarantine-rows"))


def _errors(errors: dict[str, Any]) -> str:
    if not errors["groups"]:
        return "<p class=none id=errors>The error queue is empty; no publish is held.</p>"
    decide = f"<a target=_top href='{REQUIRED_ACTIONS}'>decide in Required actions</a>"
    groups = "".join(
        f"<tr><td><a href='?{_query(flow=g['flow'], store=g['store'])}#error-rows'>{escape(g['flow'])}</a>"
        f"{_in_store(g['store'])}</td>"
        f"<td>{escape(g['operation'])}</td><td class={'warn' if g['held'] else 'bad'}>"
        f"{'HELD by a guardrail' if g['held'] else escape(g['kind'])}"
        f"{' (gave up)' if g['status'] == 'given_up' else ''}</td><td>{g['rows']}</td><td>{g['max_attempts']}</td>"
        f"<td>{_when(g['since'])}</td><td>{decide if g['held'] or g['status'] == 'given_up' else _when(g['next_attempt'])}"
        "</td></tr>" for g in errors["groups"])
    rows = "".join(
        f"<tr><td>{escape(r['flow'])}{_in_store(r['store'], 'error-rows')}</td><td>{escape(r['operation'])}</td>"
        f"<td>{escape(r['record_key'])}</td>"
        f"<td>{r['attempts']}</td><td>{escape(_held_what(r['payload']) if r['held'] else '')}"
        f"{escape((r['error_message'] or '')[:240])}</td><td>{_row_action(r, decide)}</td></tr>"
        for r in errors["rows"])
    return ("<table id=errors><tr><th>Flow (filter)</th><th>Operation</th><th>Error</th><th>Rows</th>"
            "<th>Attempts (max)</th><th>Since</th><th>Next attempt</th></tr>" + groups + "</table>"
            "<h3 id=error-rows>Row by row" + _filtered(errors["flow"], errors["store"]) + "</h3>"
            "<table><tr><th>Flow</th><th>Operation</th><th>Key</th><th>Attempts</th><th>Reason / last error</th>"
            "<th>Release or retry</th></tr>" + rows + "</table>"
            + _pages(errors, "e_page", {"flow": errors["flow"], "store": errors["store"]}, "error-rows"))


def _query(**filters: str | None) -> str:
    """A link's query string: the filters that are set (a row of the ERP side has no store)."""
    return urlencode({k: v for k, v in filters.items() if v})


def _filtered(what: str | None, store: str | None) -> str:
    """' in erp.product, store vendure-demo': what a per-row list is narrowed to."""
    said = [escape(what)] if what else []
    said += [f"store {escape(store)}"] if store else []
    return f" in {', '.join(said)}" if said else ""


def _in_store(store: str, listing: str | None = None) -> str:
    """The store a row is of, after its flow or dataset; nothing for the ERP side. In a per-row list
    (``listing``, its anchor), a link that narrows the lists to that store."""
    if not store:
        return ""
    name = escape(store)
    if listing:
        name = f"<a href='?{_query(store=store)}#{listing}'>{name}</a>"
    return f" <span class=store>in {name}</span>"


def _store_attr(store: str) -> str:
    return f" data-store='{escape(store)}'" if store else ""


def _held_what(payload: dict[str, Any] | None) -> str:
    if not payload:
        return ""
    if "to" in payload:
        return f"{payload.get('from')} → {payload['to']} ({payload.get('move', '')}): "
    return f"{payload.get('change', '')} {payload.get('product', '')}: "


def _row_action(row: dict[str, Any], decide: str) -> str:
    if row["held"] or row["status"] == "given_up":
        return decide
    return f"retried by the next run from {_when(row['next_attempt_at'])}; resolves itself once it succeeds"


def _drift(drift: dict[str, Any] | None) -> str:
    if not drift:
        return "<p class=muted id=drift>No reconciliation has run yet.</p>"
    counts = drift["counts"] or {}
    catalog = counts.get("reconcile_catalog") or {}
    orders = counts.get("reconcile_orders") or {}
    figures = [
        ("Variants in the store", catalog.get("variants_in_store")),
        ("Inventory levels in the store", catalog.get("levels_in_store")),
        ("Missing in the store (deleted there)", catalog.get("missing_in_store")),
        ("Status drift", catalog.get("status_drift")), ("Price drift", catalog.get("price_drift")),
        ("Inventory drift", catalog.get("inventory_drift")),
        ("SKUs the ERP does not know", catalog.get("unmanaged_in_store")),
        ("Repaired (changes published)", sum((catalog.get("repaired") or {}).values()) if catalog else None),
        ("Store orders compared", orders.get("orders_in_store")),
        ("Orders missing in the ERP (found)", orders.get("missing_in_erp")),
        ("Not in the ERP yet, left to the order flow (in flight)", orders.get("in_flight")),
        ("Booked by reconciliation", orders.get("booked")),
        ("Still missing", orders.get("still_missing")), ("Duplicates in the ERP", orders.get("duplicates")),
    ]
    rows = "".join(f"<tr><td>{label}</td><td>{'-' if value is None else value}</td></tr>" for label, value in figures)
    return (f"<p>Run {escape(drift['run_id'])}, finished {_when(drift['finished_at'])} UTC: {escape(drift['status'])}."
            f"</p><table id=drift>{rows}</table>")
