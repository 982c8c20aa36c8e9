"""End-to-end freshness under the real Airflow scheduler, on the embedded default (the demo's set-up:
SQLite warehouse, LocalExecutor, the DAGs on their default 30 s schedules).

- Catalog: a change committed in the ERP (a template's list price, or stock received into a warehouse)
  until the store's Admin API shows it (the variant's price differs from before; the variant's available
  quantity over all locations went up by what was received).
- Orders: an order placed in the store until its sale is confirmed in the ERP (found by its external id
  in state confirmed or later).

Changes and orders come at random gaps (exponential, seeded) over a few minutes, both at once. The
demo's shopper is stopped while measuring so that the measured SKUs change only through the benchmark:
price changes, restocks and orders each use SKUs of their own. A single poller reads what is pending,
once a second, through the same APIs the flows use (the store's as another app, with a cost bucket of its
own); a latency is from the commit (the write call's return) to the end of the first read that saw it,
so it is an upper bound by at most the poll interval.

The set-up is the event-driven one (``Demo(webhooks=True, erp_watch_s=1)``): the Shopify store's webhooks
start the order flow, the ERP change watcher the catalog flow, and the polls run every
``SAFETY_POLL_S`` as the safety net. A second pass places orders only, with the store dropping 20% of
its webhooks, duplicating 10% and delivering 10% late and out of order
(``freshness_orders_p95_s_dropped``): every order must still be booked, once. Then, from Airflow's records
of the runs the events started, where the seconds went (``bench.hops``), and what the set-up costs while
nothing happens (share of a core per process).
"""

from __future__ import annotations

import logging
import datetime as dt
import random
import shutil
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from bench import hops
from bench.systems import BENCH_HOME
from sqlalchemy import select

from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import stg_product
from erpsync.tryton.rpc import TrytonRpc
from sandbox.airflow_local import wait_for
from sandbox.demo import DEMO_DAGS, MONITORING_DAGS, REALTIME_SCHEDULER_IDLE_SLEEP_S, Demo
from sandbox.tryton import catalog
from sandbox.tryton.control import ErpSandbox
from tests.conftest import free_port
from tests.support.erp import receive, sales_per_order

log = logging.getLogger("bench.freshness")

POLL_S = 1.0
DRAIN_S = 180.0  # after the last change, how long a change may still take before it counts as lost
SAFETY_POLL_S = 120  # the polls under the events (the demo's 300 s, shortened so that a drain is bounded)
ERP_WATCH_S = 1
IDLE_S = 30.0  # how long the idle cost is measured
WEBHOOK_FAULTS = [  # the dropped pass: what the store does to its webhooks
    {"kind": "webhook_drop", "rate": 0.2, "match": "orders/"},
    {"kind": "webhook_duplicate", "rate": 0.1, "match": "orders/"},
    {"kind": "webhook_reorder", "rate": 0.1, "match": "orders/"},
]
CONFIRMED = {"confirmed", "processing", "done"}
RESTOCK = Decimal(3)


@dataclass
class Pending:
    kind: str  # price | stock | order
    key: str  # the SKU, or the store order id
    committed: float
    before: object = None
    committed_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    seen: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.seen is None else self.seen - self.committed


@dataclass
class Plan:
    """Which SKUs each kind of event uses: disjoint, so that one never hides another."""

    price_templates: list[dict] = field(default_factory=list)  # {"template_id", "sku", "list_price"}
    restock: list[dict] = field(default_factory=list)  # {"product_id", "sku", "warehouse_id"}
    order_skus: list[str] = field(default_factory=list)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


class Freshness:
    def __init__(self, demo: Demo, changes: int, mean_gap_s: float, seed: int = 11, *,
                 catalog_changes: bool = True, drain_s: float = DRAIN_S):
        self.demo = demo
        self.catalog_changes = catalog_changes
        self.drain_s = drain_s
        self.changes = changes
        self.mean_gap_s = mean_gap_s
        self.rng = random.Random(seed)
        erp = demo.erp
        rpc = TrytonRpc(erp.url, erp.db_name, "admin", erp.admin_password_file.read_text().strip())
        self.admin = TrytonClient(rpc, web_shop=catalog.WEB_SHOP_NAME)
        self.erp = demo.erp_client()
        from erpsync.shopify.settings import ShopifySettings

        # A monitor of its own: another app's token, with its own cost bucket, so that watching never takes
        # points from the flows (in Shopify the limit is per app and store).
        token = demo.store.admin("POST", "/apps", {})["access_token"]
        self.store = ShopifySettings(shop_url=demo.store.url, access_token=token).store()
        self.locations = [loc.id for loc in self.store.locations()]
        self.pending: list[Pending] = []
        self.done: list[Pending] = []

    # -- choosing SKUs --------------------------------------------------------------------------------

    def plan(self) -> Plan:
        variants = [v for page in self.store.iter_variants() for v in page if v.product_status == "ACTIVE"]
        by_sku = {v.sku: v for v in variants}
        levels = self._available([v.sku for v in variants], by_sku)
        products = self.admin.model("product.product", "search_read", [("code", "in", sorted(by_sku))], 0, None,
                                    [("id", "ASC")], ["code", "template"])
        by_template: dict[int, list[dict]] = {}
        for row in products:
            by_template.setdefault(row["template"], []).append(row)
        # A price change shows on a variant only if it takes its template's list price (some carry their
        # own): what the flow staged tells.
        engine = make_engine(self.demo.warehouse_url)
        with engine.connect() as conn:
            staged = dict(conn.execute(select(stg_product.c.sku, stg_product.c.list_price)).all())
        engine.dispose()
        list_prices = {row["id"]: row["list_price"] for row in self.admin.model(
            "product.template", "read", list(by_template), ["list_price"])}
        takes_template_price = {
            template_id for template_id, rows in by_template.items()
            if all(staged.get(r["code"]) == list_prices[template_id] for r in rows)}
        templates = list(by_template)
        self.rng.shuffle(templates)
        half = self.changes // 2
        plan = Plan()
        warehouses = self.admin.web_shop.warehouses
        for template_id in templates:
            rows = by_template[template_id]
            if len(plan.price_templates) < self.changes - half and template_id in takes_template_price:
                plan.price_templates.append({"template_id": template_id, "sku": rows[0]["code"]})
            elif len(plan.restock) < half and levels.get(rows[0]["code"], 0) >= 10:
                # In stock: a level held at zero (sold out, orders pending) would not show a restock of 3.
                row = rows[0]
                plan.restock.append({"product_id": row["id"], "sku": row["code"],
                                     "warehouse_id": warehouses[len(plan.restock) % len(warehouses)].id})
            else:  # the rest sell: well stocked variants only (an order must not fail for stock)
                plan.order_skus += [r["code"] for r in rows if levels.get(r["code"], 0) >= 20]
        if len(plan.order_skus) < 10:
            raise RuntimeError(f"only {len(plan.order_skus)} well stocked SKUs left for orders")
        return plan

    def _available(self, skus: list[str], by_sku: dict) -> dict[str, int]:
        items = {by_sku[s].inventory_item_id: s for s in skus}
        totals: dict[str, int] = {}
        for level in self.store.inventory_levels(list(items), self.locations):
            sku = items[level.inventory_item_id]
            totals[sku] = totals.get(sku, 0) + level.available
        return totals

    # -- events ---------------------------------------------------------------------------------------

    def change_price(self, target: dict) -> Pending:
        (variant,) = [v for page in self.store.iter_variants(skus=[target["sku"]]) for v in page]
        (row,) = self.admin.model("product.template", "read", [target["template_id"]], ["list_price"])
        new = (Decimal(str(row["list_price"])) * Decimal("1.03")).quantize(Decimal("0.01"))
        self.admin.model("product.template", "write", [target["template_id"]], {"list_price": new})
        return Pending("price", target["sku"], time.monotonic(), before=variant.price)

    def restock(self, target: dict) -> Pending:
        variants = {v.sku: v for page in self.store.iter_variants(skus=[target["sku"]]) for v in page}
        before = self._available([target["sku"]], variants)[target["sku"]]
        receive(self.admin, target["product_id"], target["warehouse_id"], RESTOCK)
        return Pending("stock", target["sku"], time.monotonic(), before=before + int(RESTOCK))

    def place_order(self, skus: list[str], number: int) -> Pending:
        lines = [{"sku": sku, "quantity": 1} for sku in self.rng.sample(skus, self.rng.randint(1, 2))]
        order = self.demo.store.admin("POST", "/orders", {
            "lines": lines, "email": f"fresh{number}@example.com", "first_name": "Fresh",
            "last_name": f"Buyer{number}", "shipping_price": "4.90", "tax_rate": "0.08"})
        return Pending("order", order["id"], time.monotonic())

    # -- polling --------------------------------------------------------------------------------------

    def poll(self) -> None:
        catalog_pending = [p for p in self.pending if p.kind in ("price", "stock")]
        orders_pending = [p for p in self.pending if p.kind == "order"]
        if catalog_pending:
            skus = sorted({p.key for p in catalog_pending})
            variants = {v.sku: v for page in self.store.iter_variants(skus=skus) for v in page}
            stock = self._available([p.key for p in catalog_pending if p.kind == "stock"], variants)
            now = time.monotonic()
            for p in catalog_pending:
                if (p.kind == "price" and p.key in variants and variants[p.key].price != p.before) or \
                        (p.kind == "stock" and stock.get(p.key) == p.before):
                    p.seen = now
        if orders_pending:
            sales = self.erp.sales_by_web_id([p.key for p in orders_pending])
            now = time.monotonic()
            for p in orders_pending:
                sale = sales.get(p.key)
                if sale is not None and sale.state in CONFIRMED:
                    p.seen = now
        for p in [p for p in self.pending if p.seen is not None]:
            self.pending.remove(p)
            self.done.append(p)
            log.info("%s %s visible after %.1f s (%d done, %d pending)", p.kind, p.key, p.latency,
                     len(self.done), len(self.pending))

    def measure(self) -> dict:
        plan = self.plan()
        catalog_events = [("price", t) for t in plan.price_templates] + [("stock", t) for t in plan.restock]
        if not self.catalog_changes:
            catalog_events = []
        self.rng.shuffle(catalog_events)
        schedule = self._schedule(catalog_events) + self._schedule([("order", i) for i in range(self.changes)])
        schedule.sort(key=lambda event: event[0])
        started = time.monotonic()
        log.info("%d catalog changes and %d orders over ~%.0f s", len(catalog_events), self.changes,
                 schedule[-1][0])
        next_poll = started
        while schedule or self.pending:
            now = time.monotonic()
            while schedule and schedule[0][0] <= now - started:
                _, kind, target = schedule.pop(0)
                if kind == "price":
                    self.pending.append(self.change_price(target))
                elif kind == "stock":
                    self.pending.append(self.restock(target))
                else:
                    self.pending.append(self.place_order(plan.order_skus, target))
            if now >= next_poll:
                self.poll()
                next_poll = now + POLL_S
            if not schedule and self.pending and now - self._last_commit() > self.drain_s:
                log.warning("gave up on %d change(s) after %.0f s", len(self.pending), self.drain_s)
                break
            time.sleep(0.1)
        return self.figures(time.monotonic() - started)

    def _schedule(self, events: list) -> list[tuple[float, str, object]]:
        at = 0.0
        timed = []
        for kind, target in events:
            at += self.rng.expovariate(1 / self.mean_gap_s)
            timed.append((at, kind, target))
        return timed

    def _last_commit(self) -> float:
        return max(p.committed for p in self.pending + self.done)

    def figures(self, seconds: float) -> dict:
        """The metrics; a change never seen counts as lost (and leaves its percentile unmeasured)."""
        metrics: dict = {}
        details: dict = {"seconds": round(seconds, 1), "poll_s": POLL_S, "lost": {}}
        for flow, kinds in (("catalog", ("price", "stock")), ("orders", ("order",))):
            latencies = [round(p.latency, 2) for p in self.done if p.kind in kinds]
            lost = sum(1 for p in self.pending if p.kind in kinds)
            complete = bool(latencies) and not lost
            metrics[f"freshness_{flow}_p50_s"] = round(statistics.median(latencies), 1) if complete else None
            metrics[f"freshness_{flow}_p95_s"] = round(percentile(latencies, 0.95), 1) if complete else None
            details[f"freshness_{flow}_max_s"] = max(latencies, default=None)
            details[f"freshness_{flow}_samples"] = latencies
            details["lost"][flow] = lost
        details["poller_store_points"] = round(self.store.usage()["points"], 1)
        details["lost_changes"] = [f"{p.kind} {p.key}" for p in self.pending]
        details["by_kind_p50_s"] = {
            kind: round(statistics.median(values), 1) for kind in ("price", "stock", "order")
            if (values := [p.latency for p in self.done if p.kind == kind])}
        return {**metrics, "details": {"freshness": details}}


def settle(demo: Demo, timeout_s: float = 300, extra_dags: list[str] = (), reconcile_idle: bool = True) -> float:
    """Wait until the start-up's runs are through; return how long that took.

    ``Demo.up`` triggers each flow once while its schedule already queues runs, then unpauses the
    monitoring DAGs, whose first reconcile run reads both systems whole (~80 s here). Measured from
    there (2026-11-28), the first orders waited up to 65 s: each orders run waited for the one before
    and took 22-26 s while reconcile ran, 14-18 s after. The measurement starts once no run is queued
    behind another and reconcile's first run is over: the steady state between two reconcile runs (every
    15 minutes). ``reconcile_idle`` False: once reconcile's first run is over, a later one may be running (a
    large catalog's reconcile may outlast its interval, the next run then starting as the last ends)."""
    http = demo.airflow.session()

    def runs(dag_id: str, *states: str) -> int:
        response = http.get(f"{demo.airflow.url}/api/v2/dags/{dag_id}/dagRuns",
                            params={"state": list(states), "limit": 1}, timeout=30)
        response.raise_for_status()
        return response.json()["total_entries"]

    def quiet() -> bool:
        return (runs("reconcile", "success", "failed") > 0
                and not (reconcile_idle and runs("reconcile", "queued", "running"))
                and not any(runs(dag_id, "queued") for dag_id in [*DEMO_DAGS, *MONITORING_DAGS, *extra_dags]
                            if reconcile_idle or dag_id != "reconcile"))

    started = time.monotonic()
    wait_for(quiet, timeout_s=timeout_s, what="the start-up's runs to be through", interval_s=2)
    return time.monotonic() - started


def run(quick: bool = False, *, events: bool = True) -> dict:
    """The event-driven set-up (``freshness_*``), or with ``events`` False the polling-only one
    (``freshness_poll_*``: the DAGs on their 30 s schedules, no webhooks, no watcher)."""
    # At least 50 changes spread over several minutes (the floor), both kinds at once: ~3.5 minutes
    # of changes at a mean gap of 4 s.
    changes, mean_gap = (16, 3.0) if quick else (52, 4.0)
    home = BENCH_HOME / "live"
    demo = Demo(home=home, airflow_port=free_port(), erp_port=free_port(), store_port=free_port(),
                warehouse_url=f"sqlite:///{home / 'warehouse.sqlite'}", webhooks=events,
                erp_watch_s=ERP_WATCH_S if events else 0, safety_poll_s=SAFETY_POLL_S)
    if home.exists():
        demo.down()  # a run that was interrupted
        shutil.rmtree(home)
    base = ErpSandbox.from_env()
    base.build()
    base.clone(home / "erp", demo.erp_port)  # the demo's data, without building it again
    try:
        demo.up(show_fulfillment=False)
        demo.store.admin("POST", "/shopper/stop", {})
        settled_s = settle(demo)
        log.info("start-up runs through after %.0f s", settled_s)
        since = dt.datetime.now(dt.UTC)
        measured = Freshness(demo, changes, mean_gap)
        figures = measured.measure()
        details = figures["details"]["freshness"]
        details["settle_s"] = round(settled_s, 1)
        if not events:
            return {"freshness_poll_catalog_p95_s": figures["freshness_catalog_p95_s"],
                    "freshness_poll_orders_p95_s": figures["freshness_orders_p95_s"],
                    "details": {"freshness_poll": {**details, "scheduler": {
                        "catalog_interval_s": 30, "orders_interval_s": 30, "executor": "LocalExecutor"}}}}
        details["scheduler"] = {
            "orders": "store webhooks", "catalog": f"ERP change watcher every {ERP_WATCH_S} s",
            "safety_poll_s": SAFETY_POLL_S, "executor": "LocalExecutor",
            "parallelism": demo.airflow.parallelism,
            "scheduler_idle_sleep_time": REALTIME_SCHEDULER_IDLE_SLEEP_S,
            "warehouse": "SQLite (embedded default)"}
        details["hot_path"] = hot_path(demo, since, measured.done)
        details["idle_cpu_share"] = idle_cost(demo)
        log.info("idle cost (share of a core): %s", details["idle_cpu_share"])
        figures.update(dropped_pass(demo, changes, mean_gap, details))
        return figures
    finally:
        demo.down()


def hot_path(demo: Demo, since: dt.datetime, done: list[Pending]) -> dict:
    """The medians of each hop of the runs the events started since ``since`` (see ``bench.hops``)."""
    http = demo.airflow.session()
    commits = {"orders_sync": [p.committed_at for p in done if p.kind == "order"],
               "catalog_sync": [p.committed_at for p in done if p.kind in ("price", "stock")]}
    found = {}
    for dag_id, flow_commits in commits.items():
        runs, upstream = hops.fetch_runs(http, demo.airflow.url, dag_id, since)
        found[dag_id] = {"runs": len(runs), "hops": hops.breakdown(dag_id, runs, upstream, flow_commits)}
        log.info("%s: %d event runs; hot path %s", dag_id, len(runs), found[dag_id]["hops"])
    return found


def idle_cost(demo: Demo) -> dict[str, float]:
    """Share of a core each process uses while nothing changes (after the runs of the last changes)."""
    http = demo.airflow.session()
    wait_for(lambda: not _active_runs(demo, http), timeout_s=300, interval_s=2, what="the last runs to end")
    roles = hops.airflow_roles(demo.airflow.processes())
    roles["erp"] = [int(demo.erp.pid_file.read_text().strip())]
    return hops.idle_cpu(roles, IDLE_S)


def _active_runs(demo: Demo, http) -> int:
    response = http.get(f"{demo.airflow.url}/api/v2/dags/~/dagRuns", params={"state": ["queued", "running"],
                                                                             "limit": 1}, timeout=30)
    response.raise_for_status()
    return response.json()["total_entries"]


def dropped_pass(demo: Demo, changes: int, mean_gap: float, details: dict) -> dict:
    """Orders only, with the store's webhooks dropped, duplicated and reordered: their freshness, and each
    order's ERP sales counted (a list per order, so that two show)."""
    demo.store.admin("PUT", "/faults", {"seed": 20, "rules": WEBHOOK_FAULTS})
    try:
        measured = Freshness(demo, changes, mean_gap, seed=29, catalog_changes=False,
                             drain_s=SAFETY_POLL_S + DRAIN_S)
        figures = measured.measure()
    finally:
        demo.store.admin("DELETE", "/faults")
    deliveries = Counter(d["state"] for d in demo.store.admin("GET", "/webhooks?limit=1000")["deliveries"])
    order_ids = [p.key for p in measured.done + measured.pending if p.kind == "order"]
    sales = sales_per_order(measured.admin, order_ids)
    twice = sorted(order for order, count in sales.items() if count > 1)
    missing = sorted(set(order_ids) - set(sales))
    dropped = figures["details"]["freshness"]
    details["dropped"] = {
        "faults": WEBHOOK_FAULTS, "orders": len(order_ids), "deliveries": dict(deliveries),
        "booked_twice": twice, "missing": missing, "samples": dropped["freshness_orders_samples"],
        "max_s": dropped["freshness_orders_max_s"], "p50_s": figures["freshness_orders_p50_s"]}
    log.info("dropped pass: %d orders, deliveries %s, %d missing, %d twice", len(order_ids), dict(deliveries),
             len(missing), len(twice))
    complete = not twice and not missing and figures["freshness_orders_p95_s"] is not None
    return {"freshness_orders_p95_s_dropped": figures["freshness_orders_p95_s"] if complete else None}
