"""Order extraction from the store: orders changed since the cursor, landed raw (see
:mod:`erpsync.sync.landing` for the window and cursor rules). Orders of every status come: new, paid,
cancelled, refunded; the ``updatedAt`` of an order moves on every change."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import Engine, select

from erpsync.common.jsonable import jsonable
from erpsync.common.window import Window
from erpsync.store.interface import Store
from erpsync.store.records import StoreOrder
from erpsync.sync.landing import ExtractResult, land
from erpsync.warehouse import db
from erpsync.warehouse.schema import stg_order

log = logging.getLogger(__name__)

SOURCE = "store"
ENTITY = "order"
DEFAULT_LAG = dt.timedelta(minutes=2)


def extract_orders(store: Store, engine: Engine, *, window_end: dt.datetime, run_id: str | None, now: dt.datetime,
                   lag: dt.timedelta = DEFAULT_LAG, full_refresh: bool = False,
                   window_start: dt.datetime | None = None) -> ExtractResult:
    """Land the orders changed since the order cursor. ``window_start`` (a backfill) reads that window
    whatever the cursor says; the cursor never moves back (staging only ever moves it forward).

    The part of the window before the cursor (the overlap with the previous run, ``lag`` long) is read
    again for orders the store showed late; there only the stamps (id, last change) are read, and an
    order is read whole only if staging does not hold that version of it. Re-reading the overlap whole
    cost four times what the new orders did (measured: an order is ~30 points of the store's rate limit,
    its stamp ~1)."""
    with engine.connect() as conn:
        cursor = None if full_refresh else db.get_cursor(conn, SOURCE, ENTITY, store=store.name)
    window = Window.after_cursor(cursor, window_end, lag)
    if window_start is not None:
        window = Window(window_start, window_end)
        pages = _orders(store.iter_orders(window))
    elif cursor is not None and window.start < cursor < window.end:
        pages = _new_then_overlap(store, engine, overlap=Window(window.start, cursor),
                                  new=Window(cursor, window.end))
    else:
        pages = _orders(store.iter_orders(window))
    return land(engine, SOURCE, ENTITY, pages, window=window, run_id=run_id, now=now, store=store.name)


def extract_order_ids(store: Store, engine: Engine, order_ids: Sequence[str], *, window: Window, run_id: str | None,
                      now: dt.datetime) -> ExtractResult:
    """Land these orders whole (e.g. those reconciliation found missing in the ERP, among the stamps of
    ``window``); the cursor is left alone."""
    return land(engine, SOURCE, ENTITY, _orders(store.iter_orders(window, order_ids=list(order_ids))), window=window,
                run_id=run_id, now=now, move_cursor=False, scope=f"{len(order_ids)} order(s) by id", store=store.name)


def _orders(pages: Iterable[list[StoreOrder]]) -> Iterator[list[db.RawRow]]:
    return ([db.RawRow(order.order_id, jsonable(order), order.updated_at) for order in orders] for orders in pages)


def _new_then_overlap(store: Store, engine: Engine, *, overlap: Window, new: Window) -> Iterator[list[db.RawRow]]:
    read: set[str] = set()
    for page in _orders(store.iter_orders(new)):
        read.update(row.record_key for row in page)
        yield page
    stamps = {stamp.order_id: stamp.updated_at for page in store.order_stamps(overlap) for stamp in page
              if stamp.order_id not in read}
    with engine.connect() as conn:
        staged = {
            order_id: updated_at for chunk in db.chunks(sorted(stamps))
            for order_id, updated_at in conn.execute(
                select(stg_order.c.store_order_id, stg_order.c.store_updated_at)
                .where(stg_order.c.store == store.name, stg_order.c.store_order_id.in_(chunk)))
        }
    missing = [order_id for order_id, updated_at in stamps.items() if staged.get(order_id) != updated_at]
    if missing:
        log.info("%d of %d order(s) in the overlap %s not staged in that version: reading them", len(missing),
                 len(stamps), overlap)
        yield from _orders(store.iter_orders(overlap, order_ids=missing))
