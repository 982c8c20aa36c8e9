"""Holds on inventory levels in the warehouse (:class:`erpsync.sync.catalog.cas.Hold`), and the staged
store sales a publish reads to tell which units of a level's drop it already knows of.

A hold lives on the level's ``published_inventory`` row (``held_units``, ``held_from``, ``held_until``,
``held_known``). It is in force until the order staging has read past its window, by the order cursor
less the order extract's lag (the part of a window each run reads again for orders saved late): the
cursor is a window end the store's own stamps were compared with, so no clock of ours takes part. Until
then each publish keeps off what the orders staged since do not account for, and marks the SKU due so
that the level is looked at again once the hold is over."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from erpsync.sync.catalog import cas
from erpsync.sync.orders import extract as orders_extract
from erpsync.sync.orders.restocks import committed_since
from erpsync.warehouse import db
from erpsync.warehouse.schema import published_inventory, stg_order, stg_order_line

K = TypeVar("K")
Sold = list[tuple[dt.datetime, int]]  # (when, units), by the store's clock


def sales_since(conn: Connection, store: str,
                windows: Mapping[K, tuple[str, str, dt.datetime]]) -> dict[K, Sold]:
    """Per window (SKU, store location name, time): the units of the SKU on staged store orders (not
    cancelled: the desired level does not hold those back) taken from that location or from one the store
    did not say, created at or after that time, each with its ``createdAt``; of an order created before
    it, the units its edits and returns committed since (:func:`committed_since`). Both by the store's
    clock."""
    if not windows:
        return {}
    skus = sorted({sku for sku, _, _ in windows.values()})
    earliest = min(at for _, _, at in windows.values())
    lines: list[tuple] = []
    for chunk in db.chunks(skus):
        query = (
            select(stg_order_line.c.sku, stg_order.c.store_location, stg_order.c.store_created_at,
                   stg_order_line.c.current_quantity, stg_order_line.c.store_line_id, stg_order.c.edits,
                   stg_order.c.returns)
            .join(stg_order, (stg_order.c.store == stg_order_line.c.store)
                  & (stg_order.c.store_order_id == stg_order_line.c.store_order_id))
            .where(stg_order.c.store == store, stg_order_line.c.sku.in_(chunk),
                   stg_order.c.cancelled_at.is_(None), stg_order.c.store_updated_at >= earliest))
        lines.extend(conn.execute(query).all())
    sold: dict[K, Sold] = {}
    for key, (want_sku, want_location, after) in windows.items():
        found: Sold = []
        for sku, location, created, quantity, line_id, edits, returns in lines:
            if sku != want_sku or location not in (None, want_location):
                continue
            if db.as_utc(created) >= db.as_utc(after):
                found.append((db.as_utc(created), int(quantity)))
            else:
                found.extend(committed_since(edits, returns, line_id, after))
        sold[key] = found
    return sold


def explained(conn: Connection, store: str,
              windows: Mapping[K, tuple[str, str, dt.datetime | None, dt.datetime]]) -> dict[K, int]:
    """Per window (SKU, store location name, from, until): the units of staged store orders (not
    cancelled) of the SKU at that location or at one the store did not say, placed strictly between the
    two times, and the units edits and exchanges committed to older orders between them: the sales the
    desired level holds back (or the ERP's figure counts) that the store made in that window. Both times
    and the orders' by the store's clock, which stamps whole seconds: a sale of the second of either end
    may lie outside, so it does not count. A window from None (a write the store did not stamp): none."""
    bounded = {key: window for key, window in windows.items() if window[2] is not None}
    sold = sales_since(conn, store, {key: (sku, location, since)
                                     for key, (sku, location, since, _) in bounded.items()})
    found = dict.fromkeys(windows, 0)
    for key, (_, _, since, until) in bounded.items():
        found[key] = sum(units for when, units in sold.get(key, ()) if since < when < until)
    return found


def staged_through(conn: Connection, store: str, lag: dt.timedelta) -> dt.datetime | None:
    """The store's time up to which every order it stamped is staged: the order cursor less the lag each
    order extract reads again (None: the order flow never staged a window of this store)."""
    cursor = db.get_cursor(conn, orders_extract.SOURCE, orders_extract.ENTITY, store=store)
    return None if cursor is None else db.as_utc(cursor) - lag


def read(conn: Connection, store: str, skus: Iterable[str]) -> dict[tuple[str, str], cas.Hold]:
    """(SKU, location id) -> the hold recorded on the level, for the levels of ``skus`` that have one."""
    found: dict[tuple[str, str], cas.Hold] = {}
    for chunk in db.chunks(sorted(set(skus))):
        for sku, location, units, since, until, known in conn.execute(
            select(published_inventory.c.sku, published_inventory.c.location_key,
                   published_inventory.c.held_units, published_inventory.c.held_from,
                   published_inventory.c.held_until, published_inventory.c.held_known)
            .where(published_inventory.c.store == store, published_inventory.c.sku.in_(chunk),
                   published_inventory.c.held_units.is_not(None),
                   published_inventory.c.held_until.is_not(None))):
            found[(sku, location)] = cas.Hold(int(units), since and db.as_utc(since), db.as_utc(until),
                                              int(known or 0))
    return found


def in_force(conn: Connection, store: str, levels: Sequence[tuple[str, str, str]],
             lag: dt.timedelta) -> tuple[dict[tuple[str, str], tuple[cas.Hold, int]], list[tuple[str, str]]]:
    """For ``levels`` (SKU, location id, location name): the holds still in force with the units each keeps
    off now, and the levels whose hold is over (to be cleared)."""
    names = {(sku, location_id): name for sku, location_id, name in levels}
    holds = {key: hold for key, hold in read(conn, store, {sku for sku, _, _ in levels}).items()
             if key in names}
    if not holds:
        return {}, []
    through = staged_through(conn, store, lag)
    over = [key for key, hold in holds.items() if cas.lifted(hold, through)]
    active = {key: hold for key, hold in holds.items() if key not in over}
    now = explained(conn, store, {key: (key[0], names[key], hold.since, hold.until)
                                  for key, hold in active.items()})
    return {key: (hold, cas.held_back(hold, now[key], through)) for key, hold in active.items()}, over


def clear(conn: Connection, store: str, keys: Iterable[tuple[str, str]]) -> None:
    """Lift the holds of these levels (SKU, location id)."""
    for chunk in db.chunks(sorted(set(keys))):
        conn.execute(update(published_inventory).where(
            published_inventory.c.store == store,
            or_(*(and_(published_inventory.c.sku == sku, published_inventory.c.location_key == location)
                  for sku, location in chunk)),
        ).values(held_units=None, held_from=None, held_until=None, held_known=None))


def record(conn: Connection, store: str, holds: Mapping[tuple[str, str], cas.Hold | None]) -> None:
    """Set (or, for None, lift) the holds of these levels (SKU, location id), which must be recorded."""
    if not holds:
        return
    conn.execute(update(published_inventory).where(
        published_inventory.c.store == store, published_inventory.c.sku == bindparam("b_sku"),
        published_inventory.c.location_key == bindparam("b_location"),
    ).values(held_units=bindparam("b_units"), held_from=bindparam("b_since"), held_until=bindparam("b_until"),
             held_known=bindparam("b_known")), [
        {"b_sku": sku, "b_location": location, "b_units": hold and hold.units, "b_since": hold and hold.since,
         "b_until": hold and hold.until, "b_known": hold and hold.known}
        for (sku, location), hold in holds.items()])
