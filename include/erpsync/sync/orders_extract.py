"""Order extraction from the store: orders changed since the cursor, landed raw (see
:mod:`erpsync.sync.landing` for the window and cursor rules). Orders of every status come: new, paid,
cancelled, refunded; the ``updatedAt`` of an order moves on every change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from erpsync.common.jsonable import jsonable
from erpsync.store.interface import Store
from erpsync.sync.landing import ExtractResult, land, window_for
from erpsync.warehouse import db

SOURCE = "store"
ENTITY = "order"
DEFAULT_LAG = dt.timedelta(minutes=2)


def extract_orders(store: Store, engine: Engine, *, window_end: dt.datetime, run_id: str | None, now: dt.datetime,
                   lag: dt.timedelta = DEFAULT_LAG, full_refresh: bool = False,
                   window_start: dt.datetime | None = None) -> ExtractResult:
    """Land the orders changed since the order cursor. ``window_start`` (a backfill) reads that window
    whatever the cursor says; the cursor never moves back (staging only ever moves it forward)."""
    window = window_for(engine, SOURCE, ENTITY, window_end, lag, full_refresh)
    if window_start is not None:
        window = type(window)(window_start, window_end)
    pages = ([db.RawRow(order.order_id, jsonable(order), order.updated_at) for order in orders]
             for orders in store.iter_orders(window))
    return land(engine, SOURCE, ENTITY, pages, window=window, run_id=run_id, now=now)
