"""The order ledger: one row per store order, its state, and the only moves between states.

    (none) -> pending -> created -> confirmed -> fulfilled
                 |  ^        \\          \\
                 v  |         +----------+--> cancelled | cancel_failed
               failed                          (cancelled also straight from none/pending/failed:
                                                an order cancelled before it was booked)

Every move is a compare-and-set on the states it may come from: a step that acts on an order it read a
moment ago (a booking run, the changes step, reconciliation running beside the flow) never undoes what
another step did in between, e.g. a late claim never turns a confirmed order back into a pending one.
A move that finds the row elsewhere returns False, and the caller leaves the order alone.

A booking attempt claims its orders (``pending``, ``claimed_by`` its run): another run leaves them alone
while the claim is fresh, so two overlapping runs never book (and create customers for) the same orders
at once. The same run claims them again at once (Airflow retrying or clearing its task); any run takes
over a claim older than ``CLAIM_LEASE`` (an attempt that died). A row's times are the warehouse
database's clock (:func:`db.clock`), never a worker's: a worker whose clock runs ahead cannot take over a
live claim, nor one whose clock lags hold a dead claim longer. Should two runs still book one order (a
claim taken over from an attempt that was only slow), the ERP's unique key and the look-up before every
create keep it to one sale.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, delete

from erpsync.warehouse import db
from erpsync.warehouse.schema import order_ledger

BOOKABLE = (None, "pending", "failed")  # None: no row yet
CLAIM_LEASE = dt.timedelta(minutes=5)  # a booking attempt of a batch takes seconds
BOOKED = ("created", "confirmed", "fulfilled")
DONE = (*BOOKED, "cancelled", "cancel_failed")  # the ERP has (or needs) nothing more from booking

SOURCES: dict[str, tuple[str | None, ...]] = {  # claiming (-> pending) is :func:`claim`
    "failed": ("pending",),  # the attempt could not book it (retried after a backoff)
    "created": BOOKABLE,  # the ERP has the sale: created now, or found from an earlier attempt
    "confirmed": ("created",),
    "fulfilled": ("confirmed", "cancel_failed"),
    "cancelled": (*BOOKABLE, *BOOKED, "cancel_failed"),
    "cancel_failed": BOOKED,  # the store cancelled what the ERP already shipped
}


def move(conn: Connection, *, store: str, order_id: str, to: str, **values: Any) -> bool:
    """Move the order's row to ``to`` if it is in one of the states it may come from (creating it when
    "no row yet" is one of them), releasing any claim. True when it moved."""
    sources = SOURCES[to]
    now = db.clock(conn)
    changes = {"state": to, "updated_at": now, "claimed_by": None, **values}
    key = (order_ledger.c.store == store) & (order_ledger.c.store_order_id == order_id)
    guard = order_ledger.c.state.in_([s for s in sources if s is not None])
    moved = conn.execute(order_ledger.update().where(key, guard).values(**changes)).rowcount == 1
    if not moved and None in sources:
        moved = db.insert_absent(conn, order_ledger, {
            "store": store, "store_order_id": order_id, "created_at": now, "attempts": 0, **changes},
            key=["store", "store_order_id"])
    return moved


def claim(conn: Connection, *, store: str, order_id: str, run_id: str | None, **values: Any) -> bool:
    """Claim the order for this run's booking attempt (counting it): from no row, ``failed``, this run's
    own claim or an expired one (by the database's clock). True when claimed."""
    now = db.clock(conn)
    key = (order_ledger.c.store == store) & (order_ledger.c.store_order_id == order_id)
    claimable = (order_ledger.c.state == "failed") | ((order_ledger.c.state == "pending") & (
        (order_ledger.c.claimed_by == run_id) | order_ledger.c.claimed_by.is_(None)
        | (order_ledger.c.updated_at <= now - CLAIM_LEASE)))
    changes = {"state": "pending", "claimed_by": run_id, "updated_at": now, **values}
    if conn.execute(order_ledger.update().where(key, claimable).values(
            **changes, attempts=order_ledger.c.attempts + 1)).rowcount == 1:
        return True
    return db.insert_absent(conn, order_ledger, {
        "store": store, "store_order_id": order_id, "created_at": now, "attempts": 1, **changes},
        key=["store", "store_order_id"])


def reopen(conn: Connection, *, store: str, order_id: str, state: str, erp_sale_id: int | None) -> bool:
    """Forget the booking of an order whose sale is gone from the ERP, if its row is still as it was read
    (``state``, ``erp_sale_id``): the next booking run books it again. True when it was reopened."""
    return conn.execute(delete(order_ledger).where(
        order_ledger.c.store == store, order_ledger.c.store_order_id == order_id, order_ledger.c.state == state,
        order_ledger.c.erp_sale_id.is_(None) if erp_sale_id is None else order_ledger.c.erp_sale_id == erp_sale_id,
    )).rowcount == 1
