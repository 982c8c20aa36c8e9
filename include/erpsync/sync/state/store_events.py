"""The inbox of store events (table ``store_event``): every delivery a store's webhooks made, recorded
before it is answered, keyed by the store's event id so that a repeated delivery is counted on its event's
row and never acts twice. A refused delivery (bad signature) gets a row of its own without an event id:
nothing it claims is trusted.

No payload is kept (an order's body carries customer data): the row says what changed (the resource's
id and version) and what the event caused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from erpsync.store.events import Decision, Delivery, KnownOrder
from erpsync.warehouse import db
from erpsync.warehouse.schema import order_adjustment, order_ledger, store_event

RUN, RUN_FAILED, REFUSED = "run", "run_failed", "refused"
MAX_REASON = 500


@dataclass(frozen=True)
class Recorded:
    """What recording a delivery found: a new event, or the row of an event delivered before."""

    new: bool
    outcome: str  # the event's outcome (for a repeat: what its first delivery decided)


def known_order(conn: Connection, *, store: str, order_id: str) -> KnownOrder | None:
    """What the sync state knows of the store's order: None when the ledger has never seen it."""
    row = conn.execute(select(order_ledger.c.state, order_ledger.c.store_fulfillment_ids).where(
        order_ledger.c.store == store, order_ledger.c.store_order_id == order_id)).first()
    if row is None:
        return None
    refunds = conn.execute(select(order_adjustment.c.store_ref).where(
        order_adjustment.c.store == store, order_adjustment.c.store_order_id == order_id,
        order_adjustment.c.kind == "refund", order_adjustment.c.state == "applied")).scalars().all()
    return KnownOrder(fulfillment_ids=frozenset(row.store_fulfillment_ids or ()),
                      refund_ids=frozenset(refunds), cancelled=row.state in ("cancelled", "cancel_failed"))


def record(conn: Connection, *, store: str, delivery: Delivery, decision: Decision,
           received_at: dt.datetime) -> Recorded:
    """Record a verified delivery: a new event with ``decision``'s outcome, or one more delivery of an
    event already recorded (its first outcome stands)."""
    inserted = db.insert_absent(conn, store_event, {
        "store": store, "event_id": delivery.event_id, "topic": delivery.topic, "resource": delivery.resource,
        "resource_updated_at": delivery.resource_updated_at, "triggered_at": delivery.triggered_at,
        "received_at": received_at, "outcome": decision.outcome, "reason": _short(decision.reason),
        "deliveries": 1,
    }, key=["store", "event_id"])
    if inserted:
        return Recorded(True, decision.outcome)
    key = (store_event.c.store == store) & (store_event.c.event_id == delivery.event_id)
    conn.execute(update(store_event).where(key).values(deliveries=store_event.c.deliveries + 1))
    return Recorded(False, conn.execute(select(store_event.c.outcome).where(key)).scalar_one())


def record_refused(conn: Connection, *, store: str, topic: str | None, reason: str,
                   received_at: dt.datetime) -> None:
    """Record a refused delivery (its claimed event id is not trusted, so not kept as one)."""
    conn.execute(store_event.insert().values(
        store=store, event_id=None, topic=(topic or "?")[:64], received_at=received_at, outcome=REFUSED,
        reason=_short(reason), deliveries=1))


def set_outcome(conn: Connection, *, store: str, event_id: str, outcome: str,
                reason: str | None = None) -> None:
    """An event's outcome after acting on it (e.g. the run could not be asked for: ``run_failed``, so that
    the store's next delivery of it asks again)."""
    conn.execute(update(store_event).where(store_event.c.store == store, store_event.c.event_id == event_id)
                 .values(outcome=outcome, reason=_short(reason)))


def _short(reason: str | None) -> str | None:
    return reason[:MAX_REASON] if reason else None
