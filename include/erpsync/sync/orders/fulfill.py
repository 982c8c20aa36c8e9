"""Tell the store when the ERP has shipped an order: fulfillments with the carrier's tracking number, one
per store location the order's fulfillment orders ship from (a fulfillment may not span locations).

A booked order whose ERP sale is fully shipped gets its store fulfillment orders fulfilled. Before
creating anything the store is read: fulfillment orders already closed (an earlier attempt whose answer
was lost, a person in the store's admin) are recorded, not fulfilled again, and of the open ones only
what is still fulfillable is asked for (a refunded or cancelled line is not). An order the store
refused waits for its retry in the error queue (with backoff) and gives up there after its last attempt.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select

from erpsync.store.errors import StoreError
from erpsync.store.interface import Store
from erpsync.store.records import FulfillmentOrder
from erpsync.sync.orders import ledger
from erpsync.sync.orders.config import OrdersConfig
from erpsync.sync.state.row_errors import RowFailure, record_failures, resolve, waiting_keys
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.sales import TrytonSales
from erpsync.warehouse import db
from erpsync.warehouse.schema import order_adjustment, order_ledger, stg_order

log = logging.getLogger(__name__)

FLOW = "orders"
DONE = ("CLOSED", "CANCELLED", "INCOMPLETE")
EDIT_SHIPPED = ("sent", "none")  # none: an edit's sale whose lines a later edit removed again


@dataclass
class FulfillResult:
    shipped: int = 0  # booked orders the ERP has fully shipped
    fulfilled: int = 0  # fulfillments created in the store by this run
    already: int = 0  # found fulfilled in the store (recorded, not repeated)
    failed: int = 0
    seconds: float = 0.0

    def as_counts(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


def push_fulfillments(erp: TrytonClient, store: Store, engine: Engine, *, config: OrdersConfig,
                      run_id: str | None, now: dt.datetime) -> FulfillResult:
    started = time.monotonic()
    result = FulfillResult()
    with engine.connect() as conn:
        open_orders = {sale_id: order_id for order_id, sale_id in conn.execute(
            select(order_ledger.c.store_order_id, order_ledger.c.erp_sale_id).where(
                order_ledger.c.store == store.name, order_ledger.c.state.in_(("confirmed", "cancel_failed")),
                order_ledger.c.erp_sale_id.is_not(None)))}
        waiting = waiting_keys(conn, store=store.name, flow=FLOW, entity="order", operation="fulfill", now=now)
    open_orders = {sale_id: order_id for sale_id, order_id in open_orders.items() if order_id not in waiting}
    # An order's edits may have put lines in sales of their own: it is shipped when all of them are. One
    # with an edit not applied yet waits for it: the store would count the edit's lines as shipped.
    with engine.connect() as conn:
        edit_sales = _edit_sales(conn, store.name, list(open_orders.values()))
        unapplied = _with_unapplied_edits(conn, store.name, list(open_orders.values()))
    open_orders = {sale_id: order_id for sale_id, order_id in open_orders.items() if order_id not in unapplied}
    edit_shipping = {s.sale_id: s for s in TrytonSales(erp).shipping(sorted({s for ids in edit_sales.values()
                                                                             for s in ids}))}
    shipped = [s for s in TrytonSales(erp).shipping(sorted(open_orders)) if s.shipment_state == "sent"
               and all(edit_shipping[e].shipment_state in EDIT_SHIPPED or edit_shipping[e].sale_state == "cancelled"
                       for e in edit_sales.get(open_orders[s.sale_id], ()))]
    result.shipped = len(shipped)
    if shipped:
        fulfillment_orders = store.fulfillment_orders([open_orders[s.sale_id] for s in shipped])
        for sale in shipped:
            order_id = open_orders[sale.sale_id]
            orders = fulfillment_orders.get(order_id, [])
            done = [f for f in orders if f.status in DONE]
            todo: dict[str | None, list[FulfillmentOrder]] = {}
            for f in orders:
                if f.status not in DONE and f.fulfillable:
                    todo.setdefault(f.location_id, []).append(f)
            tracking = next((s.reference or s.number for s in sale.shipments if s.state == "done"), None)
            fulfillments = [fid for f in done for fid in f.fulfillment_ids]
            try:
                # A failure half way leaves the rest open: the next run finds the first ones closed.
                for _location, fulfillment_orders_there in sorted(todo.items(), key=lambda item: str(item[0])):
                    fulfillments.append(store.create_fulfillment(fulfillment_orders_there, tracking_number=tracking,
                                                                 tracking_company=config.tracking_company))
                if todo:
                    result.fulfilled += 1
                else:
                    result.already += 1
            except StoreError as error:
                with engine.begin() as conn:
                    record_failures(conn, store=store.name, flow=FLOW, entity="order", operation="fulfill",
                                    run_id=run_id, now=now,
                                    failures=[RowFailure(order_id, type(error).__name__, str(error))])
                result.failed += 1
                continue
            with engine.begin() as conn:
                ledger.move(conn, store=store.name, order_id=order_id, to="fulfilled",
                            store_fulfillment_ids=fulfillments)
                resolve(conn, store=store.name, flow=FLOW, entity="order", operation="fulfill", keys=[order_id],
                        now=now)
    _push_exchanges(erp, store, engine, config, run_id, now, result, waiting)
    result.seconds = time.monotonic() - started
    log.info("fulfillments: %s", result.as_counts())
    return result


def _push_exchanges(erp: TrytonClient, store: Store, engine: Engine, config: OrdersConfig, run_id: str | None,
                    now: dt.datetime, result: FulfillResult, waiting: set[str]) -> None:
    """Fulfil the items a return gave in exchange once the ERP shipped the exchange's sale: the order was
    fulfilled before (a return takes back shipped goods), so its open fulfillment orders are the
    exchange's. Each exchange once: its adjustment moves to ``fulfilled``."""
    with engine.connect() as conn:
        exchanges = {sale_id: (order_id, ref) for order_id, ref, sale_id in conn.execute(
            select(order_adjustment.c.store_order_id, order_adjustment.c.store_ref,
                   order_adjustment.c.erp_sale_id)
            .join(order_ledger, (order_ledger.c.store == order_adjustment.c.store)
                  & (order_ledger.c.store_order_id == order_adjustment.c.store_order_id))
            .where(order_adjustment.c.store == store.name, order_adjustment.c.kind == "exchange",
                   order_adjustment.c.state == "applied", order_adjustment.c.erp_sale_id.is_not(None),
                   order_ledger.c.state == "fulfilled"))
            if order_id not in waiting}
    shipped = [s for s in TrytonSales(erp).shipping(sorted(exchanges)) if s.shipment_state == "sent"]
    if not shipped:
        return
    result.shipped += len(shipped)
    fulfillment_orders = store.fulfillment_orders(sorted({exchanges[s.sale_id][0] for s in shipped}))
    for sale in shipped:
        order_id, ref = exchanges[sale.sale_id]
        todo: dict[str | None, list[FulfillmentOrder]] = {}
        for f in fulfillment_orders.get(order_id, []):
            if f.status not in DONE and f.fulfillable:
                todo.setdefault(f.location_id, []).append(f)
        tracking = next((s.reference or s.number for s in sale.shipments if s.state == "done"), None)
        made = []
        try:
            for _location, there in sorted(todo.items(), key=lambda item: str(item[0])):
                made.append(store.create_fulfillment(there, tracking_number=tracking,
                                                     tracking_company=config.tracking_company))
        except StoreError as error:
            with engine.begin() as conn:
                record_failures(conn, store=store.name, flow=FLOW, entity="order", operation="fulfill",
                                run_id=run_id, now=now, failures=[RowFailure(
                                    order_id, type(error).__name__, f"exchange of return {ref}: {error}")])
            result.failed += 1
            continue
        if made:
            result.fulfilled += 1
        else:
            result.already += 1
        with engine.begin() as conn:
            conn.execute(order_adjustment.update().where(
                order_adjustment.c.store == store.name, order_adjustment.c.store_order_id == order_id,
                order_adjustment.c.kind == "exchange", order_adjustment.c.store_ref == ref,
            ).values(state="fulfilled", detail=f"fulfilled: {', '.join(made) or 'found fulfilled'}",
                     updated_at=now))
            resolve(conn, store=store.name, flow=FLOW, entity="order", operation="fulfill", keys=[order_id],
                    now=now)


def _edit_sales(conn: Connection, store: str, order_ids: list[str]) -> dict[str, list[int]]:
    """The ERP sales that orders' applied edits created (their new lines), and those of items a return
    gave in exchange before the order was fulfilled, per order."""
    found: dict[str, list[int]] = {}
    for chunk in db.chunks(sorted(order_ids)):
        for order_id, sale_id in conn.execute(
                select(order_adjustment.c.store_order_id, order_adjustment.c.erp_sale_id).where(
                    order_adjustment.c.store == store, order_adjustment.c.kind.in_(("edit", "exchange")),
                    order_adjustment.c.state == "applied", order_adjustment.c.erp_sale_id.is_not(None),
                    order_adjustment.c.store_order_id.in_(chunk))):
            found.setdefault(order_id, []).append(sale_id)
    return found


def _with_unapplied_edits(conn: Connection, store: str, order_ids: list[str]) -> set[str]:
    """The orders with a staged edit that the ERP has not followed (or found impossible) yet."""
    found: set[str] = set()
    for chunk in db.chunks(sorted(order_ids)):
        edits = {order_id: {e["edit_id"] for e in edits} for order_id, edits in conn.execute(
            select(stg_order.c.store_order_id, stg_order.c.edits).where(
                stg_order.c.store == store, stg_order.c.store_order_id.in_(chunk))) if edits}
        if not edits:
            continue
        done: dict[str, set[str]] = {}
        for order_id, ref in conn.execute(
                select(order_adjustment.c.store_order_id, order_adjustment.c.store_ref).where(
                    order_adjustment.c.store == store, order_adjustment.c.kind == "edit",
                    order_adjustment.c.state.in_(("applied", "not_possible")),
                    order_adjustment.c.store_order_id.in_(list(edits)))):
            done.setdefault(order_id, set()).add(ref)
        found.update(order_id for order_id, ids in edits.items() if ids - done.get(order_id, set()))
    return found
