"""The catalog flow's steps called in order, as the DAG calls them, for tests that need to act between
two steps (a sale between extract and publish) or to look inside one."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Engine

from erpsync.store.interface import Store
from erpsync.sync.catalog import publish as catalog_publish
from erpsync.sync.catalog.config import CatalogConfig
from erpsync.sync.catalog.desired import ChannelShare
from erpsync.sync.catalog.extract import extract_products, extract_stock
from erpsync.sync.catalog.stage import stage_products, stage_stock
from erpsync.tryton.client import TrytonClient


@dataclass
class CatalogSteps:
    erp: TrytonClient
    store: Store
    engine: Engine
    config: CatalogConfig = field(default_factory=CatalogConfig)
    lag: dt.timedelta = dt.timedelta(seconds=1)
    # The DAG runs the two extracts as two tasks at once; True does the same here (two threads), False one
    # after the other, which is what most tests need to reason about the ERP's calls.
    parallel_extract: bool = False
    # Every store the staging marks its changes for (None: this one); the store's share of the last units.
    publish_to: list[str] | None = None
    channel: ChannelShare = field(default_factory=ChannelShare)
    # The other stores' ERP web shops (how each offers each variant is staged too), as the DAG reads them.
    other_web_shops: list[str] = field(default_factory=list)
    # The store's own ERP web shop when it is not ``erp``'s (publishing then reads that one's offers).
    web_shop: str | None = None
    # How far back each order extract reads again: OrderSteps' lag (a level's hold on unstaged sales is
    # over once the order staging has read that far past it).
    order_lag: dt.timedelta = dt.timedelta(seconds=1)

    def extract_and_stage(self, *, full: bool = False, end: dt.datetime | None = None) -> dict:
        end = end or dt.datetime.now(dt.UTC)
        run_id = f"test-{uuid.uuid4().hex[:8]}"
        now = dt.datetime.now(dt.UTC)
        options = dict(window_end=end, run_id=run_id, now=now, lag=self.lag, full_refresh=full,
                       other_web_shops=self.other_web_shops)
        if self.parallel_extract:
            with ThreadPoolExecutor(2, thread_name_prefix="extract") as pool:
                products_done = pool.submit(extract_products, self.erp, self.engine, **options)
                stock_done = pool.submit(extract_stock, self.erp, self.engine, **options)
                products, stock = products_done.result(), stock_done.result()
        else:
            products = extract_products(self.erp, self.engine, **options)
            stock = extract_stock(self.erp, self.engine, **options)
        staged_products = stage_products(self.engine, batch_id=products.batch_id, currency=products.facts["currency"],
                                         run_id=run_id, now=now, cursor_at=products.window_end,
                                         publish_to=self.publish_to or [self.store.name])
        staged_stock = stage_stock(self.engine, batch_id=stock.batch_id, run_id=run_id, now=now,
                                   cursor_at=stock.window_end, publish_to=self.publish_to or [self.store.name])
        return {"run_id": run_id, "batch_ids": [products.batch_id, stock.batch_id], "products": products,
                "stock": stock, "staged_products": staged_products, "staged_stock": staged_stock}

    def publish(self, staged: dict, step: str, *, now: dt.datetime | None = None,
                **options) -> catalog_publish.PublishResult:
        run = catalog_publish.PublishRun(
            store=self.store, engine=self.engine, config=self.config, run_id=staged["run_id"],
            now=now or dt.datetime.now(dt.UTC),
            warehouses={w.code: w.name for w in self.erp.web_shop.warehouses}, channel=self.channel,
            web_shop=self.web_shop, **{"order_lag": self.order_lag, **options},
        )
        return getattr(catalog_publish, step)(run)

    def run(self, *, phases: dict[str, float] | None = None, **options) -> dict:
        """Extract and stage, then each publish step; ``phases`` (when given) receives each one's seconds."""
        timings = {} if phases is None else phases
        started = time.monotonic()
        result = self.extract_and_stage(full=options.pop("full", False))
        timings["extract_and_stage"] = time.monotonic() - started
        for step in catalog_publish.STEPS:
            started = time.monotonic()
            result[step] = self.publish(result, step, **options)
            timings[step] = time.monotonic() - started
        return result


@dataclass
class OrderSteps:
    """The order flow's steps in the DAG's order."""

    erp: TrytonClient
    store: Store
    engine: Engine
    config: "OrdersConfig" = None  # noqa: UP037 - imported lazily below
    lag: dt.timedelta = dt.timedelta(seconds=1)
    share_with: list[str] = field(default_factory=list)  # the other stores selling the same stock

    def __post_init__(self):
        from erpsync.sync.orders.config import OrdersConfig

        self.config = self.config or OrdersConfig()

    def extract_and_stage(self, *, end: dt.datetime | None = None, window_start: dt.datetime | None = None,
                          full: bool = False) -> dict:
        from erpsync.sync.orders.extract import extract_orders
        from erpsync.sync.orders.stage import stage_orders

        # As a run's data interval ends: now, never ahead (a window ending in the future moves the cursor
        # past changes still to come). The store stamps whole seconds; the lag re-reads the last one.
        end = end or dt.datetime.now(dt.UTC)
        run_id = f"test-{uuid.uuid4().hex[:8]}"
        now = dt.datetime.now(dt.UTC)
        extracted = extract_orders(self.store, self.engine, window_end=end, run_id=run_id, now=now, lag=self.lag,
                                   full_refresh=full, window_start=window_start)
        staged = stage_orders(self.engine, store=self.store.name, batch_id=extracted.batch_id,
                              currency=self.store.capabilities().currency, run_id=run_id, now=now,
                              cursor_at=None if window_start else extracted.window_end, share_with=self.share_with)
        return {"run_id": run_id, "extracted": extracted, "staged": staged}

    def book(self, run_id: str = "test", now: dt.datetime | None = None):
        from erpsync.sync.orders.ingest import ingest_orders

        return ingest_orders(self.erp, self.engine, store=self.store.name, config=self.config, run_id=run_id,
                             now=now or dt.datetime.now(dt.UTC))

    def changes(self, now: dt.datetime | None = None):
        from erpsync.sync.orders.changes import apply_changes

        return apply_changes(self.erp, self.engine, store=self.store.name, config=self.config,
                             now=now or dt.datetime.now(dt.UTC))

    def fulfill(self, now: dt.datetime | None = None, run_id: str = "test"):
        from erpsync.sync.orders.fulfill import push_fulfillments

        return push_fulfillments(self.erp, self.store, self.engine, config=self.config, run_id=run_id,
                                 now=now or dt.datetime.now(dt.UTC))

    def run(self, **options) -> dict:
        staged = self.extract_and_stage(**options)
        return {**staged, "ingest": self.book(staged["run_id"]), "changes": self.changes(), "fulfill": self.fulfill()}


KILLED_STEP = """
import importlib, json, os, sys, datetime as dt
from erpsync.tryton.settings import TrytonSettings
from erpsync.warehouse.engine import make_engine
from erpsync.sync.orders.config import OrdersConfig
module, owner, method = sys.argv[4].rsplit(".", 2)
cls = getattr(importlib.import_module(module), owner)
original = getattr(cls, method)
def call_then_die(self, *args):
    original(self, *args)
    os._exit(137)
setattr(cls, method, call_then_die)
step_module, step = sys.argv[5].rsplit(".", 1)
getattr(importlib.import_module(step_module), step)(
    TrytonSettings(**json.loads(sys.argv[1])).client(), make_engine(sys.argv[2]), store=sys.argv[3],
    config=OrdersConfig(), run_id="killed", now=dt.datetime.now(dt.UTC))
"""


def run_killed_after(order_steps: OrderSteps, warehouse_url: str, store_name: str, method: str, step: str) -> None:
    """Run an order step (``step``: module.function, e.g. erpsync.sync.orders.ingest.ingest_orders) on the
    staged orders in a real process (run id "killed") that dies (os._exit, as SIGKILL) right after
    ``method`` (module.Class.method) returned: what it wrote in the ERP is there, nothing after."""
    from sandbox.tryton import catalog
    from tests.conftest import REPO

    erp = order_steps.erp.rpc
    settings = {"base_url": erp.url.rsplit(f"/{erp.database}/rpc/", 1)[0], "database": erp.database,
                "login": erp.login_name, "password": erp._password, "web_shop": catalog.WEB_SHOP_NAME}
    killed = subprocess.run([sys.executable, "-c", KILLED_STEP, json.dumps(settings), warehouse_url, store_name,
                             method, step], cwd=REPO, env=os.environ, capture_output=True, text=True, timeout=120)
    assert killed.returncode == 137, killed.stderr[-2000:]
