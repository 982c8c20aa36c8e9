"""Catalog extraction from the ERP: products and stock levels changed since the cursor, landed raw.

Each extract reads the half-open window ``[cursor - lag, run end)`` and lands every record in the raw
layer under one batch id. It does not move the cursor: staging does, in the transaction that commits
the batch (:mod:`erpsync.sync.catalog_stage`). A crash anywhere before that leaves the cursor where it
was, so the next attempt reads the same window again; records read twice are harmless (raw is history,
everything downstream upserts by key).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from erpsync.common.jsonable import jsonable
from erpsync.common.progress import Progress
from erpsync.common.window import Window
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse import db

log = logging.getLogger(__name__)

SOURCE = "erp"
DEFAULT_LAG = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class ExtractResult:
    entity: str
    batch_id: str
    rows: int
    window_start: dt.datetime | None
    window_end: dt.datetime
    move_cursor: bool  # False for a run over given SKUs: it must not make the next run skip changes
    seconds: float
    currency: str | None = None  # products: the currency the store sells in (what prices must be in)

    def as_counts(self) -> dict[str, object]:
        return {
            "batch_id": self.batch_id, "rows": self.rows, "seconds": round(self.seconds, 3),
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat(), "move_cursor": self.move_cursor, "currency": self.currency,
        }


def _window(engine: Engine, entity: str, end: dt.datetime, lag: dt.timedelta, full_refresh: bool) -> Window:
    with engine.connect() as conn:
        cursor = None if full_refresh else db.get_cursor(conn, SOURCE, entity)
    return Window.after_cursor(cursor, end, lag)


def _land(
    engine: Engine,
    entity: str,
    pages: Iterator[list[db.RawRow]],
    *,
    window: Window,
    run_id: str | None,
    now: dt.datetime,
    move_cursor: bool,
    scope: str | None = None,
    currency: str | None = None,
) -> ExtractResult:
    batch_id = uuid.uuid4().hex
    progress = Progress(log, f"extract {SOURCE}.{entity} {scope or window}")
    for page in pages:
        # A transaction per page keeps write locks short; an attempt that dies half way leaves an
        # orphan partial batch (harmless history: nothing downstream is handed its batch id).
        with engine.begin() as conn:
            db.land_raw(conn, source=SOURCE, entity=entity, rows=page, batch_id=batch_id, run_id=run_id,
                        extracted_at=now)
        progress.add(len(page))
    seconds = progress.finish()
    return ExtractResult(entity, batch_id, progress.done, window.start, window.end, move_cursor, seconds, currency)


def extract_products(
    erp: TrytonClient,
    engine: Engine,
    *,
    window_end: dt.datetime,
    run_id: str | None,
    now: dt.datetime,
    lag: dt.timedelta = DEFAULT_LAG,
    full_refresh: bool = False,
    skus: Sequence[str] | None = None,
) -> ExtractResult:
    """Land the variants (and their template data and prices) changed since the product cursor.

    ``skus`` re-reads just those products and leaves the cursor alone (a targeted manual rerun must not
    make the next incremental run skip other changes).
    """
    window = _window(engine, "product", window_end, lag, full_refresh)
    # A price list edit reprices products without touching them: then every product is read again.
    read_all = full_refresh or (skus is None and window.start is not None and erp.price_list_changed(window))
    if read_all and not full_refresh:
        log.info("the web shop's price list changed in %s: reading every product", window)
    pages = (
        [db.RawRow(p.sku, jsonable(p), p.updated_at) for p in products]
        for products in erp.iter_changed_products(None if read_all else window, skus=skus)
    )
    return _land(engine, "product", pages, window=window, run_id=run_id, now=now, move_cursor=skus is None,
                 scope=f"{len(skus)} SKU(s) given" if skus is not None else None,
                 currency=erp.web_shop.currency_code)


def extract_stock(
    erp: TrytonClient,
    engine: Engine,
    *,
    window_end: dt.datetime,
    run_id: str | None,
    now: dt.datetime,
    lag: dt.timedelta = DEFAULT_LAG,
    full_refresh: bool = False,
) -> ExtractResult:
    """Land the stock levels, per warehouse of the web shop, of the products whose stock moved since the
    stock cursor (all goods on a full refresh). Quantities are re-read whole, never summed from moves."""
    window = _window(engine, "stock_level", window_end, lag, full_refresh)
    product_pages = erp.iter_goods_ids() if full_refresh else erp.iter_stock_moved_product_ids(window)
    pages = (
        [db.RawRow(f"{level.sku}@{level.warehouse_code}", jsonable(level)) for level in erp.stock_levels(ids)]
        for ids in product_pages
    )
    return _land(engine, "stock_level", pages, window=window, run_id=run_id, now=now, move_cursor=True)
