"""The catalog flow's steps called in order, as the DAG calls them, for tests that need to act between
two steps (a sale between extract and publish) or to look inside one."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sqlalchemy import Engine

from erpsync.store.interface import Store
from erpsync.sync import catalog_publish
from erpsync.sync.catalog_config import CatalogConfig
from erpsync.sync.catalog_extract import extract_products, extract_stock
from erpsync.sync.catalog_stage import stage_products, stage_stock
from erpsync.tryton.client import TrytonClient


@dataclass
class CatalogSteps:
    erp: TrytonClient
    store: Store
    engine: Engine
    config: CatalogConfig = field(default_factory=CatalogConfig)
    lag: dt.timedelta = dt.timedelta(seconds=1)

    def extract_and_stage(self, *, full: bool = False, end: dt.datetime | None = None) -> dict:
        end = end or dt.datetime.now(dt.UTC)
        run_id = f"test-{uuid.uuid4().hex[:8]}"
        now = dt.datetime.now(dt.UTC)
        products = extract_products(self.erp, self.engine, window_end=end, run_id=run_id, now=now, lag=self.lag,
                                    full_refresh=full)
        stock = extract_stock(self.erp, self.engine, window_end=end, run_id=run_id, now=now, lag=self.lag,
                              full_refresh=full)
        staged_products = stage_products(self.engine, batch_id=products.batch_id, currency=products.facts["currency"],
                                         run_id=run_id, now=now, cursor_at=products.window_end)
        staged_stock = stage_stock(self.engine, batch_id=stock.batch_id, run_id=run_id, now=now,
                                   cursor_at=stock.window_end)
        return {"run_id": run_id, "batch_ids": [products.batch_id, stock.batch_id], "products": products,
                "stock": stock, "staged_products": staged_products, "staged_stock": staged_stock}

    def publish(self, staged: dict, step: str, *, now: dt.datetime | None = None,
                **options) -> catalog_publish.PublishResult:
        run = catalog_publish.PublishRun(
            store=self.store, engine=self.engine, config=self.config, run_id=staged["run_id"],
            now=now or dt.datetime.now(dt.UTC), batch_ids=staged["batch_ids"],
            warehouses={w.code: w.name for w in self.erp.web_shop.warehouses}, **options,
        )
        return getattr(catalog_publish, step)(run)

    def run(self, **options) -> dict:
        staged = self.extract_and_stage(full=options.pop("full", False))
        return {**staged, **{step: self.publish(staged, step, **options) for step in catalog_publish.STEPS}}
