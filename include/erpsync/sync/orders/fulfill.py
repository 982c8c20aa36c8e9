"""Tell the store what the ERP has shipped: fulfillments with the carrier's tracking number, for exactly
the units each ERP shipment carried, one per store location (a fulfillment may not span locations).

An order's ERP sales are its own, its applied edits' and its exchanges'. Each ERP shipment done becomes
its own fulfillments (:mod:`fulfill_plan`): the warehouse shipping part of a sale fulfils that part, a
later shipment the rest. Before creating anything the store is read, and what it has fulfilled already
(an earlier attempt whose answer was lost, a person in the store's admin) counts against the ERP's
shipments, so nothing is fulfilled twice; of the open lines only what is still fulfillable is asked for
(a refunded or cancelled line is not). When the ERP has shipped all of an order, the order moves to
``fulfilled`` (and its exchanges too), and its edits' sales that run read are stamped as told
(``order_adjustment.told_at``): an edit applied beside that run, after its read, stays untold, so its sale
is told when it ships, whatever the clocks of the two runs say. An order the store refused waits for its
retry in the error queue (with backoff) and gives up there after its last attempt.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from erpsync.store.errors import StoreError
from erpsync.store.interface import Store
from erpsync.store.records import CreatedFulfillment, FulfillmentOrder
from erpsync.sync.orders import ledger
from erpsync.sync.orders.config import OrdersConfig
from erpsync.sync.orders.fulfill_plan import DONE, Fulfilment, Shipped, plan
from erpsync.sync.state.row_errors import RowFailure, record_failures, resolve, waiting_keys
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.sales import SaleShipping, TrytonSales
from erpsync.warehouse import db
from erpsync.warehouse.schema import order_adjustment, order_ledger, stg_order

log = logging.getLogger(__name__)

FLOW = "orders"
# A sale the ERP has processed and that needs no shipment (an edit's sale whose lines a later edit removed
# again): shipped. A confirmed sale has no shipment yet either, until the ERP processes it (right after the
# confirmation, or never when that failed): not shipped.
PROCESSED = ("processing", "done")
OPEN = ("confirmed", "cancel_failed")


@dataclass
class FulfillResult:
    shipped: int = 0  # orders (and exchanges) the ERP has wholly shipped
    fulfilled: int = 0  # of those, fulfilled in the store by this run
    already: int = 0  # of those, found fulfilled in the store (recorded, not repeated)
    partly: int = 0  # orders the ERP has shipped a part of, that part fulfilled by this run
    # Units left to fulfil in the store of orders the ERP has wholly shipped: sold there, never shipped
    # by the ERP (a line the ERP could not follow): the store's admin shows them unfulfilled.
    unshipped: int = 0
    fulfillments: int = 0  # fulfillments created in the store by this run
    failed: int = 0
    seconds: float = 0.0

    def as_counts(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


@dataclass
class _Order:
    """An order to look at: its ERP sales (its own first) and its exchanges not yet fulfilled."""

    order_id: str
    state: str
    sales: list[int]
    exchanges: dict[int, str] = field(default_factory=dict)  # ERP sale -> return's id


def push_fulfillments(erp: TrytonClient, store: Store, engine: Engine, *, config: OrdersConfig,
                      run_id: str | None, now: dt.datetime) -> FulfillResult:
    started = time.monotonic()
    result = FulfillResult()
    with engine.connect() as conn:
        waiting = waiting_keys(conn, store=store.name, flow=FLOW, entity="order", operation="fulfill", now=now)
        orders = [o for o in _orders(conn, store.name) if o.order_id not in waiting]
        unapplied = _with_unapplied_edits(conn, store.name, [o.order_id for o in orders])
    sales = TrytonSales(erp)
    shipping = {s.sale_id: s for s in sales.shipping(sorted({sale for o in orders for sale in o.sales}))}
    # Nothing to tell the store of an order until the ERP has shipped something of it.
    orders = [o for o in orders if any(sh.state == "done" for sale in o.sales if sale in shipping
                                       for sh in shipping[sale].shipments)]
    moves = sales.shipment_moves(sorted({sh.shipment_id for o in orders for sale in o.sales
                                         for sh in shipping[sale].shipments if sh.state != "cancelled"}))
    fulfillment_orders = store.fulfillment_orders([o.order_id for o in orders]) if orders else {}
    services = sales.service_skus(sorted({sale for o in orders for sale in o.sales}))
    for order in orders:
        complete = order.order_id not in unapplied and _shipped_all(order, shipping)
        done = [sh for sale in order.sales for sh in shipping[sale].shipments if sh.state == "done"]
        shipped = [Shipped(sh.shipment_id, sh.reference or sh.number, _units(moves.get(sh.shipment_id, ())))
                   for sh in done]
        # SKUs the ERP sold as services (it never ships them): fulfilled with the rest once it shipped all.
        # Only those: a line of goods the ERP has no sale of yet (an edit this run does not know of) waits.
        there = fulfillment_orders.get(order.order_id, [])
        sold_services = {sku for sale in order.sales for sku in services.get(sale, ())}
        unshipped = frozenset(sku for fo in there for _, sku in fo.skus if sku in sold_services)
        todo = plan(shipped, there, complete=complete, unshipped_skus=unshipped)
        try:
            made = _create(store, config, there, todo)
        except StoreError as error:
            with engine.begin() as conn:
                record_failures(conn, store=store.name, flow=FLOW, entity="order", operation="fulfill",
                                run_id=run_id, now=now,
                                failures=[RowFailure(order.order_id, type(error).__name__, str(error))])
            result.failed += 1
            continue
        result.fulfillments += len(made)
        exchanges = [ref for sale, ref in order.exchanges.items() if _sale_shipped(shipping[sale])]
        wholly = complete and order.state in OPEN
        result.shipped += int(wholly) + len(exchanges)
        if wholly:
            result.unshipped += (sum(q for fo in there if fo.status not in DONE for _, q in fo.fulfillable)
                                 - sum(f.units for f in todo))
        if wholly or exchanges:
            if made:
                result.fulfilled += int(wholly) + len(exchanges)
            else:
                result.already += int(wholly) + len(exchanges)
        elif made:
            result.partly += 1
        made_ids = [m.fulfillment_id for m in made]
        fulfillment_ids = [fid for fo in there for fid in fo.fulfillment_ids] + made_ids
        # The order's change our last fulfillment made: the order flow need not read the order back for it.
        echo = {"store_echo_at": made[-1].order_updated_at} if made else {}
        with engine.begin() as conn:
            if wholly:
                ledger.move(conn, store=store.name, order_id=order.order_id, to="fulfilled",
                            store_fulfillment_ids=fulfillment_ids, **echo)
            elif made:
                conn.execute(order_ledger.update().where(
                    order_ledger.c.store == store.name, order_ledger.c.store_order_id == order.order_id,
                ).values(store_fulfillment_ids=fulfillment_ids, updated_at=now, **echo))
            if complete:  # the edits' sales this run knew of are shipped, and the store has them all now
                conn.execute(order_adjustment.update().where(
                    order_adjustment.c.store == store.name, order_adjustment.c.store_order_id == order.order_id,
                    order_adjustment.c.kind == "edit", order_adjustment.c.erp_sale_id.in_(order.sales[1:]),
                    order_adjustment.c.told_at.is_(None)).values(told_at=now))
            for ref in exchanges:
                conn.execute(order_adjustment.update().where(
                    order_adjustment.c.store == store.name, order_adjustment.c.store_order_id == order.order_id,
                    order_adjustment.c.kind == "exchange", order_adjustment.c.store_ref == ref,
                ).values(state="fulfilled", detail=f"fulfilled: {', '.join(made_ids) or 'found fulfilled'}",
                         updated_at=now))
            resolve(conn, store=store.name, flow=FLOW, entity="order", operation="fulfill", keys=[order.order_id],
                    now=now)
    result.seconds = time.monotonic() - started
    log.info("fulfillments: %s", result.as_counts())
    return result


def _create(store: Store, config: OrdersConfig, there: list[FulfillmentOrder], todo: list[Fulfilment]
            ) -> list[CreatedFulfillment]:
    """Create the planned fulfillments, in the ERP's order of shipments. A failure half way leaves the rest:
    the next run reads what the store has fulfilled and plans only what is still missing."""
    by_id = {fo.fulfillment_order_id: fo for fo in there}
    made = []
    for fulfilment in todo:
        fos = [by_id[fo_id] for fo_id in dict.fromkeys(fo_id for fo_id, _, _ in fulfilment.lines)]
        made.append(store.create_fulfillment(fos, tracking_number=fulfilment.tracking,
                                             tracking_company=config.tracking_company,
                                             units={line_id: units for _, line_id, units in fulfilment.lines}))
    return made


def _orders(conn: Connection, store: str) -> list[_Order]:
    """Booked orders not fulfilled yet, and fulfilled ones with an exchange the ERP has to ship or an edit
    the store was not told of yet; each with all its ERP sales (its own, its edits' and its exchanges').
    Orders fulfilled long ago are not read."""
    ledger_row = select(order_ledger.c.store_order_id, order_ledger.c.erp_sale_id, order_ledger.c.state).where(
        order_ledger.c.store == store, order_ledger.c.erp_sale_id.is_not(None))
    orders = {order_id: _Order(order_id, state, [sale_id]) for order_id, sale_id, state in conn.execute(
        ledger_row.where(order_ledger.c.state.in_(OPEN)))}
    # An edit whose sale no run has told the store of yet (one the run that fulfilled the order did not
    # know of: applied after its read, whatever the clocks say) is told when its sale ships, and stamped.
    untold_edit = select(order_adjustment.c.id).where(
        order_adjustment.c.store == store, order_adjustment.c.store_order_id == order_ledger.c.store_order_id,
        order_adjustment.c.kind == "edit", order_adjustment.c.state == "applied",
        order_adjustment.c.erp_sale_id.is_not(None), order_adjustment.c.told_at.is_(None))
    orders.update((order_id, _Order(order_id, state, [sale_id])) for order_id, sale_id, state in conn.execute(
        ledger_row.where(order_ledger.c.state == "fulfilled", or_(order_ledger.c.store_order_id.in_(
            select(order_adjustment.c.store_order_id).where(
                order_adjustment.c.store == store, order_adjustment.c.kind == "exchange",
                order_adjustment.c.state == "applied", order_adjustment.c.erp_sale_id.is_not(None))),
            untold_edit.exists()))))
    for chunk in db.chunks(sorted(orders)):
        for order_id, kind, ref, state, sale_id in conn.execute(
                select(order_adjustment.c.store_order_id, order_adjustment.c.kind, order_adjustment.c.store_ref,
                       order_adjustment.c.state, order_adjustment.c.erp_sale_id).where(
                    order_adjustment.c.store == store, order_adjustment.c.store_order_id.in_(chunk),
                    order_adjustment.c.kind.in_(("edit", "exchange")),
                    order_adjustment.c.state.in_(("applied", "fulfilled")), order_adjustment.c.erp_sale_id.is_not(None))
                .order_by(order_adjustment.c.erp_sale_id)):
            orders[order_id].sales.append(sale_id)
            if kind == "exchange" and state == "applied":
                orders[order_id].exchanges[sale_id] = ref
    return list(orders.values())


def _shipped_all(order: _Order, shipping: dict[int, SaleShipping]) -> bool:
    main, *extra = order.sales
    return shipping[main].shipment_state == "sent" and all(_sale_shipped(shipping[sale]) for sale in extra)


def _sale_shipped(sale: SaleShipping) -> bool:
    return (sale.shipment_state == "sent" or sale.sale_state == "cancelled"
            or (sale.shipment_state == "none" and sale.sale_state in PROCESSED))


def _units(moves) -> tuple[tuple[str, int], ...]:
    units: dict[str, int] = {}
    for move in moves:
        if move.state == "done" and move.sku and move.quantity > 0:
            units[move.sku] = units.get(move.sku, 0) + int(move.quantity)
    return tuple(units.items())


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
