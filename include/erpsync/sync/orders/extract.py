"""Order extraction from the store: orders changed since the cursor, landed raw (see
:mod:`erpsync.sync.landing` for the window and cursor rules). Orders of every status come: new, paid,
cancelled, refunded; the ``updatedAt`` of an order moves on every change."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import Connection, Engine, select

from erpsync.common.jsonable import jsonable
from erpsync.common.window import Window
from erpsync.store.interface import Store
from erpsync.store.records import StoreOrder
from erpsync.sync.landing import ExtractResult, land
from erpsync.sync.orders import reread
from erpsync.warehouse import db
from erpsync.warehouse.schema import order_ledger, stg_order

log = logging.getLogger(__name__)

SOURCE = "store"
ENTITY = "order"
DEFAULT_LAG = dt.timedelta(minutes=2)


def extract_orders(store: Store, engine: Engine, *, window_end: dt.datetime, run_id: str | None, now: dt.datetime,
                   lag: dt.timedelta = DEFAULT_LAG, full_refresh: bool = False,
                   window_start: dt.datetime | None = None) -> ExtractResult:
    """Land the orders changed since the order cursor. ``window_start`` (a backfill) reads that window
    whatever the cursor says; the cursor never moves back (staging only ever moves it forward).

    After the first run the window is read as stamps (id, last change: ~1 point of the store's rate
    limit an order, where a whole one is ~40), and an order is read whole unless its change is only our
    own fulfillment (:mod:`.reread`) or, before the cursor's second, staging holds that version of it. So
    the part of the window before the cursor (the overlap with the previous run, ``lag`` long, read again
    for orders the store showed late) costs a point an order, and an order our fulfillment touched a few."""
    with engine.connect() as conn:
        cursor = None if full_refresh else db.get_cursor(conn, SOURCE, ENTITY, store=store.name)
    window = Window.after_cursor(cursor, window_end, lag)
    if window_start is not None:
        window = Window(window_start, window_end)
        pages = _orders(store.iter_orders(window))
    elif cursor is not None:
        pages = _stamps_first(store, engine, window, settled=cursor.replace(microsecond=0))
    else:
        pages = _orders(store.iter_orders(window))
    return land(engine, SOURCE, ENTITY, pages, window=window, run_id=run_id, now=now, store=store.name)


def extract_order_ids(store: Store, engine: Engine, order_ids: Sequence[str], *, window: Window, run_id: str | None,
                      now: dt.datetime) -> ExtractResult:
    """Land these orders whole (e.g. those reconciliation found missing in the ERP, among the stamps of
    ``window``); the cursor is left alone."""
    return land(engine, SOURCE, ENTITY, _orders(store.iter_orders(window, order_ids=list(order_ids))), window=window,
                run_id=run_id, now=now, move_cursor=False, scope=f"{len(order_ids)} order(s) by id", store=store.name)


def extract_recent_orders(store: Store, engine: Engine, *, window: Window, run_id: str | None,
                          now: dt.datetime) -> ExtractResult:
    """Land the orders of ``window`` that staging lacks in the version the store shows (reconciliation
    makes sure every sale the store counted is staged); read as stamps first, the cursor left alone."""
    return land(engine, SOURCE, ENTITY, _stamps_first(store, engine, window, settled=window.end), window=window,
                run_id=run_id, now=now, move_cursor=False, store=store.name)


def _orders(pages: Iterable[list[StoreOrder]]) -> Iterator[list[db.RawRow]]:
    return ([db.RawRow(order.order_id, jsonable(order), order.updated_at) for order in orders] for orders in pages)


def _stamps_first(store: Store, engine: Engine, window: Window, *, settled: dt.datetime
                  ) -> Iterator[list[db.RawRow]]:
    """The orders of ``window`` to read whole (:mod:`.reread`; staging trusted for stamps before ``settled``)."""
    stamps = {stamp.order_id: stamp.updated_at for page in store.order_stamps(window) for stamp in page}
    with engine.connect() as conn:
        known = _known(conn, store.name, sorted(stamps))
    todo = reread.plan(stamps, known, settled=settled)
    again = reread.after_versions(todo.echo, store.order_versions(todo.echo), known) if todo.echo else []
    read = todo.read + again
    log.info("%d order(s) changed in %s: %d to read whole, %d staged in that version, %d changed only by our "
             "fulfillment", len(stamps), window, len(read), len(stamps) - len(todo.read) - len(todo.echo),
             len(todo.echo) - len(again))
    if read:
        yield from _orders(store.iter_orders(window, order_ids=read))


def _known(conn: Connection, store: str, order_ids: list[str]) -> dict[str, reread.Known]:
    staged = {}
    echoes = {}
    for chunk in db.chunks(order_ids):
        staged.update((order_id, (at, version)) for order_id, at, version in conn.execute(
            select(stg_order.c.store_order_id, stg_order.c.store_updated_at, stg_order.c.store_version)
            .where(stg_order.c.store == store, stg_order.c.store_order_id.in_(chunk))))
        echoes.update(conn.execute(
            select(order_ledger.c.store_order_id, order_ledger.c.store_echo_at)
            .where(order_ledger.c.store == store, order_ledger.c.store_order_id.in_(chunk),
                   order_ledger.c.store_echo_at.is_not(None))).all())
    return {order_id: reread.Known(*staged.get(order_id, (None, None)), echoes.get(order_id))
            for order_id in order_ids}
