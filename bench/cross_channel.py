"""Cross-channel freshness under the real Airflow scheduler: a sale in one store until the other store's
API shows the lower availability of that SKU (the demo's set-up with both stores: Shopify emulator and a
stock Vendure server, SQLite warehouse, LocalExecutor, DAGs on their default 30 s schedules).

Both shoppers are stopped while measuring, so that the measured SKUs change only through the benchmark.
Orders alternate between the stores at random gaps (exponential, seeded), each on a SKU of its own that
both stores have well in stock (far above the last-units rule). One poller reads the other store's
availability once a second through the same store interfaces the flows use; a latency is from the
order's placement (the call's return) to the end of the first read that showed the level lower by the
units sold, an upper bound by at most the poll interval.
"""

from __future__ import annotations

import logging
import random
import shutil
import statistics
import time
from dataclasses import dataclass

from bench.freshness import POLL_S, percentile, settle
from bench.systems import BENCH_HOME
from sandbox.demo import VENDURE_DAGS, VENDURE_MONITORING_DAGS, Demo
from sandbox.tryton.control import ErpSandbox
from sandbox.vendure.shopper import Guest, guest_checkout
from tests.conftest import free_port
from tests.support.offers import deep_in_every_warehouse

log = logging.getLogger("bench.cross_channel")

DRAIN_S = 240.0  # how long a sale may take to show before it counts as lost
GUEST = Guest("Bench", "Buyer", "bench@example.com", "1 Market Street", "Austin", "73301", "TX", "US")


@dataclass
class Sale:
    sold_in: str  # "shopify" | "vendure"
    sku: str
    units: int
    placed: float
    expect_at_most: int  # the other store's availability once it has seen the sale
    seen: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.seen is None else self.seen - self.placed


class CrossChannel:
    def __init__(self, demo: Demo, sales: int, mean_gap_s: float, seed: int = 23):
        from erpsync.shopify.settings import ShopifySettings
        from erpsync.vendure.settings import VendureSettings

        self.demo = demo
        self.sales = sales
        self.mean_gap_s = mean_gap_s
        self.rng = random.Random(seed)
        token = demo.store.admin("POST", "/apps", {})["access_token"]  # a monitor app of its own
        self.stores = {
            "shopify": ShopifySettings(shop_url=demo.store.url, access_token=token).store(),
            "vendure": VendureSettings(base_url=demo.vendure.url, store_name="bench-monitor",
                                       **demo.vendure.credentials()).store(),
        }
        self.pending: list[Sale] = []
        self.done: list[Sale] = []

    def availability(self, store: str, skus: list[str]) -> dict[str, int]:
        """SKU -> units offered over all locations, and the variant ids (for Vendure's checkout)."""
        client = self.stores[store]
        variants = {v.inventory_item_id: v for page in client.iter_variants(skus=skus) for v in page}
        totals = dict.fromkeys(skus, 0)
        for level in client.inventory_levels(list(variants), [loc.id for loc in client.locations()]):
            totals[variants[level.inventory_item_id].sku] += level.available
        return totals

    def plan(self) -> list[str]:
        variants = [v.sku for page in self.stores["vendure"].iter_variants() for v in page
                    if v.product_status == "ACTIVE"]
        both = {}
        for start in range(0, len(variants), 50):
            chunk = variants[start:start + 50]
            shop, outlet = self.availability("shopify", chunk), self.availability("vendure", chunk)
            both.update({sku: min(shop[sku], outlet[sku]) for sku in chunk})
        # A warehouse at its last units is offered by one store alone: a sale booked from it would never show.
        deep = deep_in_every_warehouse(self.demo.warehouse_url, 20)
        skus = sorted(sku for sku, units in both.items() if units >= 20 and sku in deep)
        self.rng.shuffle(skus)
        if len(skus) < self.sales:
            raise RuntimeError(f"only {len(skus)} SKUs well stocked in both stores")
        return skus[:self.sales]

    def sell(self, number: int, sku: str) -> Sale:
        sold_in = ("shopify", "vendure")[number % 2]
        other = "vendure" if sold_in == "shopify" else "shopify"
        units = self.rng.randint(1, 3)
        before = self.availability(other, [sku])[sku]
        if sold_in == "shopify":
            self.demo.store.admin("POST", "/orders", {"lines": [{"sku": sku, "quantity": units}],
                                                      "email": f"cross{number}@example.com"})
        else:
            (variant,) = [v for page in self.stores["vendure"].iter_variants(skus=[sku]) for v in page]
            guest_checkout(self.demo.vendure.shop(), [(variant.variant_id, units)], GUEST)
        return Sale(sold_in, sku, units, time.monotonic(), expect_at_most=before - units)

    def poll(self) -> None:
        for other in ("shopify", "vendure"):
            watching = [s for s in self.pending if s.sold_in != other]
            if not watching:
                continue
            levels = self.availability(other, sorted({s.sku for s in watching}))
            now = time.monotonic()
            for sale in watching:
                if levels[sale.sku] <= sale.expect_at_most:
                    sale.seen = now
        for sale in [s for s in self.pending if s.seen is not None]:
            self.pending.remove(sale)
            self.done.append(sale)
            log.info("%s sale of %s visible in the other store after %.1f s (%d done, %d pending)",
                     sale.sold_in, sale.sku, sale.latency, len(self.done), len(self.pending))

    def measure(self) -> dict:
        skus = self.plan()
        at, schedule = 0.0, []
        for number, sku in enumerate(skus):
            at += self.rng.expovariate(1 / self.mean_gap_s)
            schedule.append((at, number, sku))
        started = time.monotonic()
        next_poll = started
        while schedule or self.pending:
            now = time.monotonic()
            while schedule and schedule[0][0] <= now - started:
                _, number, sku = schedule.pop(0)
                self.pending.append(self.sell(number, sku))
            if now >= next_poll:
                self.poll()
                next_poll = time.monotonic() + POLL_S
            if not schedule and self.pending and now - max(s.placed for s in self.pending) > DRAIN_S:
                log.warning("gave up on %d sale(s) after %.0f s", len(self.pending), DRAIN_S)
                break
            time.sleep(0.1)
        return self.figures(time.monotonic() - started)

    def figures(self, seconds: float) -> dict:
        latencies = [round(s.latency, 2) for s in self.done]
        complete = bool(latencies) and not self.pending
        by_direction = {
            f"{sold_in}_to_other_p50_s": round(statistics.median(values), 1)
            for sold_in in ("shopify", "vendure") if (values := [s.latency for s in self.done if s.sold_in == sold_in])}
        return {
            "cross_channel_freshness_p50_s": round(statistics.median(latencies), 1) if complete else None,
            "cross_channel_freshness_p95_s": round(percentile(latencies, 0.95), 1) if complete else None,
            "details": {"cross_channel": {
                "seconds": round(seconds, 1), "poll_s": POLL_S, "samples": latencies, "lost": len(self.pending),
                "max_s": max(latencies, default=None), **by_direction}},
        }


def run(quick: bool = False) -> dict:
    sales, mean_gap = (8, 5.0) if quick else (30, 6.0)
    home = BENCH_HOME / "cross"
    demo = Demo(home=home, airflow_port=free_port(), erp_port=free_port(), store_port=free_port(),
                warehouse_url=f"sqlite:///{home / 'warehouse.sqlite'}", vendure_port=free_port(), with_vendure=True)
    if home.exists():
        demo.down()  # a run that was interrupted
        shutil.rmtree(home)
    base = ErpSandbox.from_env()
    base.build()
    base.clone(home / "erp", demo.erp_port)
    try:
        demo.up(show_fulfillment=False)
        demo.store.admin("POST", "/shopper/stop", {})
        demo.vendure_shopper.stop()
        settled_s = settle(demo, extra_dags=VENDURE_DAGS + VENDURE_MONITORING_DAGS)
        log.info("start-up runs through after %.0f s", settled_s)
        figures = CrossChannel(demo, sales, mean_gap).measure()
        figures["details"]["cross_channel"].update(
            settle_s=round(settled_s, 1), stores=demo.store_conn_ids,
            scheduler={"orders_interval_s": 30, "catalog_interval_s": 30, "executor": "LocalExecutor",
                       "parallelism": demo.airflow.parallelism, "warehouse": "SQLite (embedded default)"})
        return figures
    finally:
        demo.down()
