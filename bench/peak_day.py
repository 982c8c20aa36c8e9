"""A peak day (issue 17): a sale event's burst of orders and the catalog's hourly change, both at once, on
the CeleryExecutor, and how the flows keep up.

The demo's set-up on the CeleryExecutor (two Celery workers, PostgreSQL metadata database and warehouse,
Redis broker), event-driven as ``bench.freshness`` runs it (the store's webhooks start the order flow,
the ERP change watcher the catalog flow, the polls every ``SAFETY_POLL_S`` as the safety net), the ERP
of the chosen size cloned from its cached snapshot (``bench.systems``). The start-up's first publish runs
with the store's rate lifted; the measurement runs at the demo's plan (``STORE_PLAN``, Standard), with
the demo's shoppers off (``Demo.shoppers``) so that orders come only from here, also during the start-up.

Then, at once: ``orders`` orders placed at a steady rate over ``burst_s`` through the emulator's admin
API (1-3 lines of one unit each, from well stocked SKUs, leaving ``UNIT_RESERVE`` units of each), and
catalog changes committed in the ERP at 2% of the SKUs per hour (half list prices, half stock receipts,
on SKUs of their own, as ``bench.freshness`` makes them), for the burst and at least ``after_s`` after
it. A poller looks every ``POLL_S`` for each order's ERP sales (by the store order id, counted: two are a
failure) and for each change in the store; every ``SAMPLE_S`` a sample: placed, booked (a sale confirmed
or later), the backlog and its oldest order's age, changes committed and seen, Airflow's task instances
queued and running. Latencies are from the commit (the call's return) to the end of the first read that
saw it: upper bounds by at most the poll interval and the read itself (the ERP, busy booking, answers
later). The orders flow's own records of its runs (``sync_run``: seconds per step, sales created) say
where the time until the last order was booked went, and so what bounds the booking: the store's order
reads, the ERP's booking, or Airflow (a run's time outside its steps, and the time no run was in progress:
one run at a time, a run queued behind another). The known ceilings (orders/s) sit beside the throughput.

``python -m bench.peak_day [--size demo|10k|100k] [--orders N] [--burst-s S] [--change-rate R] [--quick]``
prints the figures, merges them into bench/results.json (section ``peak_day``) and writes bench/report.md
again with bench/chart-peak-day.png; ``run(quick)`` is the ``python -m bench --only peak_day`` section
(``make peak-day``; never part of a whole ``make bench``: at 100k about an hour, 23 minutes of it set-up,
measured 2026-12-07).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import logging
import math
import os
import queue
import random
import shutil
import statistics
import sys
import threading
import time
import urllib.error
from dataclasses import asdict, dataclass

from bench.systems import BENCH_HOME

log = logging.getLogger("bench.peak_day")

ORDERS, BURST_S = 3000, 600.0  # a sale event: thousands of orders in ten minutes
QUICK_ORDERS, QUICK_BURST_S = 200, 120.0
CHANGE_SHARE_PER_HOUR = 0.02  # of the catalog's SKUs
AFTER_S, QUICK_AFTER_S = 300.0, 60.0  # catalog changes go on at least this long after the burst
DRAIN_TIMEOUT_S = 1800.0  # after the burst: orders not booked by then count as missing
CATALOG_DRAIN_S = 180.0  # after the last change: a change not seen by then counts as unseen (late, maybe lost)
POLL_S = 2.0
SAMPLE_S = 10.0
UNIT_RESERVE = 5  # units of each SKU the orders leave in the store (a level held back must not refuse one)
ORDER_SKUS = 2000  # well stocked SKUs the orders pick from (sampled at 100k)
CHANGE_TARGETS = 400  # most SKUs the changes use (they come back to a target once its change was seen)
SET_UP_RESTORE = 1_000_000  # points/s during the start-up only (as bench/catalog.py): the first publish
SETTLE_TIMEOUT_S = {"demo": 600, "10k": 1800, "100k": 5400}
REDIS_URL = "redis://127.0.0.1:6379/11"  # a Redis database of this benchmark's own, flushed before and after
# The known ceilings, when results.json has no measured figure: bench/order_reads.py (points an order costs
# the paced Orders query) and bench/orders.py (the ERP's batched create-quote-confirm, orders/s).
ORDER_READ_POINTS = 37.5
ERP_BOOKING_PER_S = 5.0
CONFIRMED = {"confirmed", "processing", "done"}
ERP_CHUNK = 500  # web ids per ERP search
MAX_FAILED_CHANGES = 5  # catalog changes that may fail (a busy ERP's timeout) before the run gives up


@dataclass
class Order:
    gid: str
    placed: float  # seconds since the burst began
    booked: float | None = None
    sales: int = 0


@dataclass
class Sample:
    t: float
    placed: int
    booked: int
    backlog: int
    oldest_unbooked_s: float | None
    changes_committed: int
    changes_seen: int
    ti_queued: int | None = None
    ti_running: int | None = None
    orders_runs_active: int | None = None


# -- pure figures -------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float | None:
    """The value at ``share`` of the sorted values (nearest rank); None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def spread(values: list[float]) -> dict[str, float | None]:
    """p50, p95 and max, rounded to 0.1 s."""
    figures = {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
               "max": max(values, default=None)}
    return {k: None if v is None else round(v, 1) for k, v in figures.items()} | {"n": len(values)}


def drain_time(orders: list[Order], burst_end: float) -> float | None:
    """Seconds from the burst's end (its last order placed) to its last order booked; None while one is
    not booked."""
    if not orders or any(o.booked is None for o in orders):
        return None
    return round(max(0.0, max(o.booked for o in orders) - burst_end), 1)


def throughput(orders: list[Order], start: float, end: float) -> float | None:
    """Orders booked per second in [start, end)."""
    if end - start <= 0:
        return None
    booked = sum(1 for o in orders if o.booked is not None and start <= o.booked < end)
    return round(booked / (end - start), 2)


def per_interval(samples: list[Sample]) -> list[int]:
    """Orders booked between each sample and the one before."""
    return [s.booked - (samples[i - 1].booked if i else 0) for i, s in enumerate(samples)]


def name_bound(shares: dict[str, float], kept_up: bool) -> str:
    """What bounds the booking: the part with the largest share of the time the orders waited (Airflow's
    two parts together); none if the flow kept up with the arrivals."""
    if not shares:
        return "unknown (no order run recorded)"
    parts = {"Airflow" if name.startswith("Airflow") else name: 0.0 for name in shares}
    for name, share in shares.items():
        parts["Airflow" if name.startswith("Airflow") else name] += share
    top = max(parts, key=parts.get)
    if kept_up:
        return f"none reached: the flows kept up (the largest share: {top}, {parts[top]:.0%})"
    return f"{top} ({parts[top]:.0%} of the time until the last order was booked)"


def run_shares(runs: list[dict], window_s: float) -> dict[str, float]:
    """Where the time from the burst's start to the last order booked (``window_s``) went, from the order
    runs overlapping it (``start_s``/``end_s`` since the burst's start, the seconds of each step): the
    store's order reads (extract_orders), the ERP's booking (ingest_orders), the warehouse's other steps,
    Airflow inside the runs (task boundaries: scheduling, the Celery queue, a task's start) and Airflow
    between them (no order run in progress: a run queued behind another, the scheduler's loop). Shares of
    the runs' wall time plus the time between them; a run's steps count whole, also the part outside the
    window."""
    inside = sorted((r for r in runs if r["end_s"] > 0 and r["start_s"] < window_s),
                    key=lambda r: r["start_s"])
    if not inside or window_s <= 0:
        return {}
    covered, reach = 0.0, 0.0
    for r in inside:  # the union of the runs' spans within the window
        begin, end = max(reach, r["start_s"], 0.0), min(r["end_s"], window_s)
        covered += max(0.0, end - begin)
        reach = max(reach, end)
    between = window_s - covered
    wall = sum(r["wall_s"] for r in inside)
    reads = sum(r["timings"].get("extract_orders", 0.0) for r in inside)
    booking = sum(r["timings"].get("ingest_orders", 0.0) for r in inside)
    other_steps = sum(sum(r["timings"].values()) for r in inside) - reads - booking
    total = wall + between
    return {"store order reads": round(reads / total, 3), "ERP booking": round(booking / total, 3),
            "warehouse steps": round(other_steps / total, 3),
            "Airflow in the runs": round(max(0.0, wall - reads - booking - other_steps) / total, 3),
            "Airflow between runs": round(between / total, 3)}


def summarize(orders: list[Order], samples: list[Sample], changes: list, burst_s: float,
              ceilings: dict[str, float], runs: list[dict]) -> dict:
    """The section's metrics (and their details) from what was measured. ``changes``: objects with
    ``committed_at_s`` (since the burst began) and ``latency`` (None: never seen); ``runs``: the order
    runs (see ``run_shares``)."""
    placed_times = [o.placed for o in orders]
    burst_end = max(placed_times, default=0.0)
    drain_s = drain_time(orders, burst_end)
    booked = [o for o in orders if o.booked is not None]
    latencies = [o.booked - o.placed for o in booked]
    last_booked = max((o.booked for o in booked), default=burst_end)
    arrival = len(orders) / burst_end if burst_end > 0 else None
    kept_up = drain_s is not None and drain_s <= 3 * SAMPLE_S
    shares = run_shares(runs, last_booked)
    catalog = {}
    for phase, inside in (("burst", lambda t: t < burst_end), ("after", lambda t: t >= burst_end)):
        phase_changes = [c for c in changes if inside(c.committed_at_s)]
        catalog[phase] = spread([c.latency for c in phase_changes if c.latency is not None]) | {
            "unseen_after_drain": sum(1 for c in phase_changes if c.latency is None)}
    twice = sorted(o.gid for o in orders if o.sales > 1)
    missing = sorted(o.gid for o in orders if o.sales == 0 or o.booked is None)
    booked_burst = throughput(orders, 0.0, burst_end)
    booked_drain = throughput(orders, burst_end, last_booked + 1e-9) if last_booked > burst_end else None
    metrics = {
        "peak_day_arrival_per_s": arrival and round(arrival, 2),
        "peak_day_backlog_max": max((s.backlog for s in samples), default=None),
        "peak_day_drain_s": drain_s,
        "peak_day_booked_per_s_burst": booked_burst,
        "peak_day_booked_per_s_drain": booked_drain,
        "peak_day_orders_p50_s": spread(latencies)["p50"],
        "peak_day_orders_p95_s": spread(latencies)["p95"],
        "peak_day_catalog_p95_s_burst": catalog["burst"]["p95"],
        "peak_day_catalog_p95_s_after": catalog["after"]["p95"],
        "peak_day_duplicates": len(twice),
        "peak_day_missing": len(missing),
    }
    details = {
        "orders": len(orders), "burst_s": round(burst_end, 1), "burst_s_planned": burst_s,
        "booked": len(booked), "orders_freshness_s": spread(latencies), "catalog_latency_s": catalog,
        "booked_per_s_overall": round(len(booked) / last_booked, 2) if last_booked > 0 else None,
        "ceilings_per_s": ceilings,
        "ratio_to_ceilings": {name: round(observed / limit, 3) for name, limit in ceilings.items()}
        if (observed := booked_drain or booked_burst) else {},
        "run_shares": shares, "bound": name_bound(shares, kept_up), "kept_up": kept_up,
        "booked_twice": twice[:20], "missing": missing[:20],
        "samples": [asdict(s) for s in samples], "booked_per_interval": per_interval(samples),
    }
    return metrics | {"details": details}


# -- the chart ----------------------------------------------------------------------------------------


def draw(plt, details: dict):
    """The backlog and the orders booked per interval over time, the burst shaded; returns the figure."""
    samples = details["samples"]
    times = [s["t"] for s in samples]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.axvspan(0, details["burst_s"], color="#f5cba7", alpha=0.5, label="burst (orders arriving)")
    ax.plot(times, [s["backlog"] for s in samples], color="#c0392b", label="backlog (placed − booked)")
    ax.set_xlabel("seconds from the burst's start")
    ax.set_ylabel("orders waiting")
    ax.set_ylim(bottom=0)
    booked_ax = ax.twinx()
    # Each bar spans the interval it counts: from the sample before to its own.
    booked_ax.bar(times, details["booked_per_interval"], width=-SAMPLE_S * 0.8, align="edge",
                  color="#2e86c1", alpha=0.45, label=f"booked per {SAMPLE_S:.0f} s")
    booked_ax.set_ylabel(f"booked per {SAMPLE_S:.0f} s")
    booked_ax.set_ylim(bottom=0)
    lines = ax.get_legend_handles_labels()
    bars = booked_ax.get_legend_handles_labels()
    ax.legend(lines[0] + bars[0], lines[1] + bars[1], loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3,
              fontsize=8)
    ax.set_title(f"{details['orders']} orders over {details['burst_s']:.0f} s, {details['size']} catalog, "
                 f"{details['plan']} plan, {details['executor']}", fontsize=9)
    return fig


# -- the run ------------------------------------------------------------------------------------------


@dataclass
class Change:
    committed_at_s: float
    latency: float | None


class PeakDay:
    def __init__(self, demo, *, orders: int, burst_s: float, change_rate: float, after_s: float,
                 timeout_s: float, seed: int = 17):
        from bench.freshness import Freshness

        self.demo = demo
        self.count = orders
        self.burst_s = burst_s
        self.change_rate = change_rate
        self.after_s = after_s
        self.timeout_s = timeout_s
        self.rng = random.Random(seed)
        targets = max(2, min(CHANGE_TARGETS, math.ceil(change_rate * (burst_s + after_s)) + 2))
        # Two monitors, each another app of the store with a bucket of its own: one makes the changes (on
        # a thread of its own, so that a busy ERP never holds the orders back), the other watches.
        self.changer = Freshness(demo, targets, 1.0, seed=seed)
        self.watcher = Freshness(demo, targets, 1.0, seed=seed)
        self.plan = self.changer.plan()
        self.budget = self._order_budget(self.plan.order_skus)
        self.orders: list[Order] = []
        self.samples: list[Sample] = []
        self.placed_q: queue.Queue = queue.Queue()
        self.changes_q: queue.Queue = queue.Queue()
        self.refused = 0
        self.skipped_changes = 0
        self.failed_changes = 0
        self.stop_changes = threading.Event()
        self.halt = threading.Event()  # the measurement ended (or failed): both sources stop
        self.aborted = threading.Event()
        self.t0_wall = dt.datetime.now(dt.UTC)  # the burst's start (set again when it starts)

    def _order_budget(self, skus: list[str]) -> dict[str, int]:
        """Units each order SKU may still sell: its store level less the reserve."""
        chosen = self.rng.sample(skus, min(ORDER_SKUS, len(skus)))
        store = self.watcher.store
        variants = {v.sku: v for page in store.iter_variants(skus=chosen) for v in page}
        levels = self.watcher._available(list(variants), variants)
        budget = {sku: level - UNIT_RESERVE for sku, level in levels.items() if level - UNIT_RESERVE > 0}
        log.info("orders pick from %d SKUs, %d units in all", len(budget), sum(budget.values()))
        return budget

    # -- the two sources ------------------------------------------------------------------------------

    def _lines(self) -> list[dict]:
        skus = [sku for sku, left in self.budget.items() if left > 0]
        if not skus:
            raise RuntimeError("the orders' SKUs ran out of stock")
        chosen = self.rng.sample(skus, min(len(skus), self.rng.randint(1, 3)))
        lines = [{"sku": sku, "quantity": 1} for sku in chosen]
        for line in lines:
            self.budget[line["sku"]] -= 1
        return lines

    def place_orders(self, t0: float) -> None:
        gap = self.burst_s / self.count
        try:
            for n in range(self.count):
                if self.halt.wait(max(0.0, t0 + n * gap - time.monotonic())):
                    return
                for _ in range(5):  # a line refused for stock (a level the flows lowered): other SKUs
                    try:
                        order = self.demo.store.admin("POST", "/orders", {
                            "lines": self._lines(), "email": f"peak{n}@example.com", "first_name": "Peak",
                            "last_name": f"Buyer{n}", "shipping_price": "4.90", "tax_rate": "0.08"})
                    except urllib.error.HTTPError as error:
                        self.refused += 1
                        log.warning("order %d refused: %s", n, error.code)
                        continue
                    self.placed_q.put(Order(order["id"], time.monotonic() - t0))
                    break
        except Exception:
            log.exception("placing orders failed")
            self.aborted.set()

    def make_changes(self, t0: float) -> None:
        targets = ([("price", t) for t in self.plan.price_templates]
                   + [("stock", t) for t in self.plan.restock])
        self.rng.shuffle(targets)
        pending: dict[str, object] = {}  # SKU -> its change not seen yet (a target comes back only after)
        n = 0
        while not (self.stop_changes.is_set() or self.halt.is_set()):
            delay = t0 + n / self.change_rate - time.monotonic()
            if delay > 0:
                self.stop_changes.wait(delay)
                continue
            n += 1
            free = [(kind, t) for kind, t in targets if pending.get(t["sku"]) is None
                    or pending[t["sku"]].seen is not None]
            if not free:
                self.skipped_changes += 1
                continue
            kind, target = free[0]
            targets.remove((kind, target))
            targets.append((kind, target))
            try:
                change = (self.changer.change_price if kind == "price" else self.changer.restock)(target)
            except Exception:  # noqa: BLE001 - a change the ERP or the store refused once: the next goes on
                log.exception("a catalog change failed")
                self.failed_changes += 1
                if self.failed_changes > MAX_FAILED_CHANGES:
                    self.aborted.set()
                    return
                continue
            pending[target["sku"]] = change
            self.changes_q.put(change)

    # -- watching -------------------------------------------------------------------------------------

    def poll_orders(self, t0: float) -> None:
        waiting = {o.gid: o for o in self.orders if o.booked is None}
        ids = sorted(waiting)
        for start in range(0, len(ids), ERP_CHUNK):
            rows = self.watcher.admin.model("sale.sale", "search_read",
                                            [("web_id", "in", ids[start:start + ERP_CHUNK])], 0, None, None,
                                            ["web_id", "state"])
            now = time.monotonic() - t0
            counts: dict[str, int] = {}
            for row in rows:
                counts[row["web_id"]] = counts.get(row["web_id"], 0) + 1
                if row["state"] in CONFIRMED and waiting[row["web_id"]].booked is None:
                    waiting[row["web_id"]].booked = now
            for gid, count in counts.items():
                waiting[gid].sales = count

    def sample(self, t: float, airflow) -> Sample:
        unbooked = [o.placed for o in self.orders if o.booked is None]
        booked = sum(1 for o in self.orders if o.booked is not None)
        seen = len(self.watcher.done)
        view = airflow()
        found = Sample(round(t, 1), len(self.orders), booked, len(self.orders) - booked,
                       round(t - min(unbooked), 1) if unbooked else None,
                       seen + len(self.watcher.pending), seen, **view)
        log.info("t=%.0f s: placed %d, booked %d, backlog %d (oldest %s s), changes %d/%d seen; %s", t,
                 found.placed, found.booked, found.backlog, found.oldest_unbooked_s, found.changes_seen,
                 found.changes_committed, view)
        return found

    def measure(self, airflow) -> float:
        """Run the burst and the changes; return the burst's start (monotonic)."""
        t0 = time.monotonic()
        self.t0_wall = dt.datetime.now(dt.UTC)
        placing = threading.Thread(target=self.place_orders, args=(t0,), name="peak-orders", daemon=True)
        changing = threading.Thread(target=self.make_changes, args=(t0,), name="peak-changes", daemon=True)
        placing.start()
        changing.start()
        next_poll = next_sample = t0
        last_change_seen_wait = None
        try:
            while True:
                now = time.monotonic()
                t = now - t0
                while not self.placed_q.empty():
                    self.orders.append(self.placed_q.get())
                while not self.changes_q.empty():
                    self.watcher.pending.append(self.changes_q.get())
                if self.aborted.is_set():
                    raise RuntimeError("a source failed (see the log above)")
                if now >= next_poll:
                    self.poll_orders(t0)
                    self.watcher.poll()
                    next_poll = now + POLL_S
                if now >= next_sample:
                    self.samples.append(self.sample(t, airflow))
                    next_sample += SAMPLE_S
                burst_over = not placing.is_alive() and self.placed_q.empty()
                drained = burst_over and all(o.booked is not None for o in self.orders)
                if burst_over and not self.stop_changes.is_set() and (
                        (drained and t >= self.burst_s + self.after_s) or t >= self.burst_s + self.timeout_s):
                    self.stop_changes.set()
                    changing.join(timeout=120)
                    last_change_seen_wait = time.monotonic()
                    while not self.changes_q.empty():
                        self.watcher.pending.append(self.changes_q.get())
                    log.info("changes stopped at t=%.0f s (orders %s)", t,
                             "drained" if drained else "timed out")
                if last_change_seen_wait is not None and (not self.watcher.pending or time.monotonic()
                                                          - last_change_seen_wait > CATALOG_DRAIN_S):
                    if not drained:  # the orders had their timeout; once more, then what is left is missing
                        self.poll_orders(t0)
                    if time.monotonic() - t0 - self.samples[-1].t >= 1:
                        self.samples.append(self.sample(time.monotonic() - t0, airflow))
                    return t0
                time.sleep(0.1)
        finally:
            self.halt.set()
            self.stop_changes.set()

    def changes(self, t0: float) -> list[Change]:
        return [Change(p.committed - t0, p.latency) for p in self.watcher.done + self.watcher.pending]

    def recount_sales(self) -> None:
        """Every order's ERP sales counted again at the end (a second sale made after the first was seen)."""
        from tests.support.erp import sales_per_order

        ids = [o.gid for o in self.orders]
        counts = collections.Counter()
        for start in range(0, len(ids), ERP_CHUNK):
            counts.update(sales_per_order(self.watcher.admin, ids[start:start + ERP_CHUNK]))
        for o in self.orders:
            o.sales = counts.get(o.gid, 0)


def airflow_view(demo):
    """A function returning Airflow's task instances queued and running, and the order runs active, from
    its metadata database (one small query each sample)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(demo.celery.metadata_url, pool_size=1)
    instances = text("SELECT state, count(*) FROM task_instance WHERE state IN ('queued', 'running') "
                     "GROUP BY state")
    runs = text("SELECT count(*) FROM dag_run WHERE dag_id = :dag AND state IN ('queued', 'running')")

    def view() -> dict:
        try:
            with engine.connect() as conn:
                states = dict(conn.execute(instances).all())
                active = conn.execute(runs, {"dag": "orders_sync"}).scalar_one()
        except Exception as error:  # noqa: BLE001 - Airflow's view is optional: a sample goes on without it
            log.warning("Airflow's metadata database: %s", error)
            return {}
        return {"ti_queued": states.get("queued", 0), "ti_running": states.get("running", 0),
                "orders_runs_active": active}

    view.engine = engine
    return view


def order_runs(demo, since: dt.datetime) -> list[dict]:
    """The orders flow's runs that ended after ``since`` (the burst's start), from its own records
    (``sync_run``); ``start_s``/``end_s`` from ``since``."""
    from sqlalchemy import select

    from erpsync.warehouse.engine import make_engine
    from erpsync.warehouse.schema import sync_run

    engine = make_engine(demo.warehouse_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(sync_run).where(sync_run.c.dag_id == "orders_sync",
                                                       sync_run.c.finished_at >= since,
                                                       sync_run.c.finished_at.is_not(None))
                                .order_by(sync_run.c.started_at)).mappings().all()
    finally:
        engine.dispose()
    found = []
    for row in rows:
        timings = {step: float(s) for step, s in (row["timings"] or {}).items() if isinstance(s, int | float)}
        ingest = (row["counts"] or {}).get("ingest_orders") or {}
        extract = (row["counts"] or {}).get("extract_orders") or {}
        found.append({"run_id": row["run_id"], "status": row["status"],
                      "start_s": round((row["started_at"] - since).total_seconds(), 2),
                      "end_s": round((row["finished_at"] - since).total_seconds(), 2),
                      "wall_s": round((row["finished_at"] - row["started_at"]).total_seconds(), 2),
                      "timings": {k: round(v, 2) for k, v in timings.items()},
                      "created": ingest.get("created", 0),
                      "extracted": extract.get("rows", extract.get("orders"))})
    return found


def ceilings(plan: str) -> dict[str, float]:
    """The known ceilings (orders/s): the store's order reads at ``plan`` (its restore rate over the
    points an order costs, bench/order_reads.py) and the ERP's batched booking (bench/orders.py), from
    results.json where measured."""
    from bench.report import RESULTS
    from sandbox.shopify.settings import PLAN_RESTORE_RATES

    details = json.loads(RESULTS.read_text()).get("details", {}) if RESULTS.exists() else {}
    points = (details.get("order_reads", {}).get("orders", {}).get("points_per_order") or ORDER_READ_POINTS)
    direct = [r["direct_orders_per_s"] for r in details.get("orders", {}).get("runs", [])]
    reads = PLAN_RESTORE_RATES[plan] / points
    booking = statistics.median(direct) if direct else ERP_BOOKING_PER_S
    # A run reads the orders, then books them: one run after another (max_active_runs 1) cannot do better.
    return {"store order reads": round(reads, 2), "ERP booking": round(booking, 2),
            "a run reading, then booking": round(1 / (1 / reads + 1 / booking), 2)}


def make_demo(home):
    from sandbox.demo import PG_ADMIN_URL, Demo, demo_database, pg_database_url
    from bench.freshness import ERP_WATCH_S, SAFETY_POLL_S
    from tests.conftest import free_port

    pg_admin = os.environ.get("DEMO_PG_URL") or PG_ADMIN_URL
    return Demo(home=home, airflow_port=free_port(), erp_port=free_port(), store_port=free_port(),
                warehouse_url=pg_database_url(pg_admin, demo_database(home, "warehouse")),
                webhooks=True, erp_watch_s=ERP_WATCH_S, safety_poll_s=SAFETY_POLL_S, executor="celery",
                pg_admin_url=pg_admin, broker_url=REDIS_URL, worker_log_ports=(free_port(), free_port()),
                shoppers=False)


def reconcile_runs(demo, since: dt.datetime) -> list[dict]:
    """Reconcile's runs that were in progress after ``since`` (the burst's start): they read the whole store
    through the same app, and so the same rate limit, as the order reads. ``end_s`` None: still running."""
    from sqlalchemy import or_, select

    from erpsync.warehouse.engine import make_engine
    from erpsync.warehouse.schema import sync_run

    engine = make_engine(demo.warehouse_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(sync_run.c.started_at, sync_run.c.finished_at, sync_run.c.status)
                                .where(sync_run.c.dag_id == "reconcile",
                                       or_(sync_run.c.finished_at >= since, sync_run.c.finished_at.is_(None)))
                                .order_by(sync_run.c.started_at)).all()
    finally:
        engine.dispose()
    return [{"status": status, "start_s": round((started - since).total_seconds(), 1),
             "end_s": None if finished is None else round((finished - since).total_seconds(), 1)}
            for started, finished, status in rows]


def _fresh(demo) -> None:
    """Nothing left of an earlier run: its processes, home, databases and broker messages."""
    from tests.conftest import drop_pg_database
    from tests.support.broker import flush

    if demo.home.exists():
        demo.down()
        shutil.rmtree(demo.home)
    for url in demo.pg_databases():
        drop_pg_database(demo.pg_admin_url, url)
    flush(REDIS_URL)


def run(quick: bool = False, *, size: str | None = None, orders: int | None = None,
        burst_s: float | None = None, change_rate: float | None = None,
        timeout_s: float = DRAIN_TIMEOUT_S) -> dict:
    """The ``peak_day_*`` metrics: at ``size`` (quick: demo, else the issue's 100k), ``orders`` orders over
    ``burst_s`` and 2% of the catalog per hour (``change_rate`` changes/s instead)."""
    from bench.freshness import settle
    from bench.systems import _prepared
    from sandbox.demo import STORE_PLAN
    from tests.conftest import free_port
    from tests.support.broker import flush

    size = size or ("demo" if quick else "100k")
    orders = orders or (QUICK_ORDERS if quick else ORDERS)
    burst_s = burst_s or (QUICK_BURST_S if quick else BURST_S)
    after_s = QUICK_AFTER_S if quick else AFTER_S
    home = BENCH_HOME / "peak"
    demo = make_demo(home)
    # The triggerer's log server would take Airflow's default port (8794), another deployment's on this host.
    os.environ.setdefault("AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", str(free_port()))
    _fresh(demo)
    base = _prepared(size)
    base.clone(home / "erp", demo.erp_port)
    view = None
    try:
        started = time.monotonic()
        demo.store.start()  # before `up`: the first publish at a lifted rate (set-up, not measured)
        demo.store.admin("PUT", "/plan", {"plan": "ENTERPRISE", "restore_rate": SET_UP_RESTORE})
        try:
            # A 100k catalog's first run (its extract at the ERP's read rate, then its publish) is set-up.
            demo.up(show_fulfillment=False, stage_timeout_s=SETTLE_TIMEOUT_S[size],
                    run_timeout_s=SETTLE_TIMEOUT_S[size])
        except SystemExit as error:  # a start-up run failed: a failure of this section, not of the process
            raise RuntimeError(str(error)) from None
        settled_s = settle(demo, timeout_s=SETTLE_TIMEOUT_S[size], reconcile_idle=False)
        skus = demo.store.admin("GET", "/state")["counts"]["variants"]
        rate = change_rate or skus * CHANGE_SHARE_PER_HOUR / 3600
        peak = PeakDay(demo, orders=orders, burst_s=burst_s, change_rate=rate, after_s=after_s,
                       timeout_s=timeout_s)
        demo.store.admin("PUT", "/plan", {"plan": STORE_PLAN})  # what is measured runs at the demo's plan
        log.info("set-up %.0f s (start-up runs through after %.0f s); %d SKUs; %d orders over %.0f s and "
                 "%.3f changes/s on the %s plan", time.monotonic() - started, settled_s, skus, orders,
                 burst_s, rate, STORE_PLAN)
        view = airflow_view(demo)
        t0 = peak.measure(view)
        measured_s = time.monotonic() - t0
        peak.recount_sales()
        runs = order_runs(demo, peak.t0_wall)
        reconciles = reconcile_runs(demo, peak.t0_wall)
        figures = summarize(peak.orders, peak.samples, peak.changes(t0), burst_s, ceilings(STORE_PLAN), runs)
        details = figures["details"]
        details.update(
            size=size, skus=skus, plan=STORE_PLAN, executor="CeleryExecutor, 2 workers", mode=(
                "quick" if quick else "full"), change_rate_per_s=round(rate, 4),
            change_rate_source="--change-rate" if change_rate else "2% of the SKUs per hour",
            catalog_changes=len(peak.changes(t0)), skipped_changes=peak.skipped_changes,
            failed_changes=peak.failed_changes,
            refused_orders=peak.refused, settle_s=round(settled_s, 1), measured_s=round(measured_s, 1),
            poll_s=POLL_S, sample_s=SAMPLE_S, order_runs=runs, reconcile_runs=reconciles,
            order_runs_wall_s=spread([r["wall_s"] for r in runs]),
            set_up={"plan": "ENTERPRISE", "restore_rate": SET_UP_RESTORE, "erp_workers": demo.erp.workers,
                    "webhooks": True, "erp_watch_s": demo.erp_watch_s, "safety_poll_s": demo.safety_poll_s})
        return {**{k: v for k, v in figures.items() if k != "details"}, "details": {"peak_day": details}}
    finally:
        if view is not None:
            view.engine.dispose()
        demo.down()
        flush(REDIS_URL)


def merge_results(figures: dict, seconds: float) -> str:
    """Into bench/results.json as ``python -m bench --only peak_day`` would (the other sections' figures
    kept), and bench/report.md written again with its charts; returns the peak day's chart."""
    from bench import machine, report

    results = json.loads(report.RESULTS.read_text()) if report.RESULTS.exists() else {}
    results.setdefault("details", {}).update(figures["details"])
    results.update({k: v for k, v in figures.items() if k != "details"})
    results.setdefault("section_seconds", {})["peak_day"] = round(seconds, 1)
    results.setdefault("machine", machine.describe())
    report.write(results)
    return str(report.BENCH_DIR / "chart-peak-day.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peak_day", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["demo", "10k", "100k"])
    parser.add_argument("--orders", type=int)
    parser.add_argument("--burst-s", type=float)
    parser.add_argument("--change-rate", type=float,
                        help="catalog changes/s (default: 2%% of the SKUs per hour)")
    parser.add_argument("--timeout-s", type=float, default=DRAIN_TIMEOUT_S,
                        help="how long the orders may take to drain after the burst (s)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still stops its demo
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout)
    for noisy in ("urllib3", "erpsync", "great_expectations", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.monotonic()
    figures = run(args.quick, size=args.size, orders=args.orders, burst_s=args.burst_s,
                  change_rate=args.change_rate, timeout_s=args.timeout_s)
    chart = merge_results(figures, time.monotonic() - started)
    details = figures["details"]["peak_day"]
    shown = {k: v for k, v in details.items() if k not in ("samples", "booked_per_interval", "order_runs")}
    print(json.dumps({**{k: v for k, v in figures.items() if k != "details"}, "details": shown}, indent=2,
                     default=str))
    print(f"chart: {chart}; {time.monotonic() - started:.0f} s in all")
    return 0 if not (figures["peak_day_duplicates"] or figures["peak_day_missing"]) else 1


if __name__ == "__main__":
    sys.exit(main())
