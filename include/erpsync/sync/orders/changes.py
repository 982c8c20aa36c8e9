"""Follow what happens to booked orders in the store: cancellations, edits, returns and refunds, each once.

Every change is a row of ``order_adjustment`` keyed by (store, order, kind, the store's reference):
once applied (or found impossible), it is never applied again.

- A cancellation undoes the ERP sale: a draft or quoted sale is cancelled; a confirmed one has its
  shipments and invoices cancelled (Tryton's way), which releases its stock. If goods already left the
  warehouse it cannot be undone: the adjustment says why and the data team is alerted.
- A refund becomes a return sale in the ERP (its own ``web_id``, "<order id>#refund:<refund id>", so it
  too exists once): refunded goods with negative quantities when they are restocked, a refund service
  line for the rest (goods kept, taxes and shipping refunded), so that its total is the refund's total.
  Refunds that a cancellation already covers are recorded as such.
- An edit of the order's lines (the store's order editing) is applied as ``edits`` says: the edit's new
  lines as a sale of its own, changed quantities through an amendment of the sale holding the line.
  Edits of an order the store then cancelled are covered by the cancellation, which undoes the edits'
  sales with the order's.
- A return (the store's Returns API) is booked once settled, as ``returns`` says: the restocked goods
  back into the warehouse the store restocked them at, the items given in exchange as a sale of their
  own; a refund given with the return books only what it gives back beyond the return's value.
- A refund is booked only when its money moved: one whose payment the store's gateway has not answered
  yet waits (``refunds_waiting``; the answer changes the order, which brings it back), one it refused is
  never booked (``refunds_failed``, looked at again only if the store's answer changes).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, select

from erpsync.store.records import REFUND_FAILED, REFUND_PENDING, REFUND_SETTLED
from erpsync.sync.orders import ledger
from erpsync.sync.orders.edits import EditApplier, EditNotPossibleYet
from erpsync.sync.orders.config import OrdersConfig
from erpsync.sync.catalog.config import CatalogConfig
from erpsync.sync.orders.ingest import erp_counts_from, product_ids_by_sku, sale_warehouses
from erpsync.sync.orders.returns import ReturnBooker, ReturnNotPossibleYet, refund_beyond
from erpsync.sync.state.row_errors import RowFailure, record_failures, resolve, waiting_keys
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.errors import ErpServerError, ErpUserError
from erpsync.tryton.records import SaleDraft, SaleLineDraft
from erpsync.tryton.sales import TrytonSales
from erpsync.warehouse import db
from erpsync.warehouse.schema import order_adjustment, order_ledger, stg_order, stg_order_line

log = logging.getLogger(__name__)

FLOW = "orders"
OPERATION = "apply_changes"


class ChangeNotPossibleYet(Exception):
    """An order's change cannot be applied until something is fixed (the message says what)."""


@dataclass
class ChangesResult:
    cancellations: int = 0
    cancellations_impossible: int = 0
    refunds: int = 0
    refunds_covered: int = 0
    refunds_waiting: int = 0  # their money has not moved yet: booked when it has
    refunds_failed: int = 0  # their money never moved: not booked
    returns: int = 0  # returns booked (their goods back, their exchange items sold)
    exchanges: int = 0  # of them, with items given in exchange
    returns_waiting: int = 0  # processed in the store, not settled yet (units to process or dispose of)
    edits: int = 0
    edits_impossible: int = 0  # goods already picked or shipped: recorded, and in ``impossible``
    edits_covered: int = 0  # the order was cancelled: nothing of them to apply
    seconds: float = 0.0
    impossible: list[str] | None = None
    failed: list[str] | None = None  # orders whose changes wait for a retry, with the reason

    def as_counts(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3), "impossible": (self.impossible or [])[:10],
                "failed": len(self.failed or ()), "failures": (self.failed or [])[:10]}


def apply_changes(erp: TrytonClient, engine: Engine, *, store: str, config: OrdersConfig, now: dt.datetime,
                  run_id: str | None = None, catalog: CatalogConfig | None = None) -> ChangesResult:
    """``catalog`` maps store locations to ERP warehouses (default: same names): a return is booked in the
    warehouse of the location the store restocked its goods at."""
    started = time.monotonic()
    result = ChangesResult(impossible=[], failed=[])
    sales = TrytonSales(erp)
    warehouses = _Warehouses(erp, catalog or CatalogConfig())
    with engine.connect() as conn:
        waiting = waiting_keys(conn, store=store, flow=FLOW, entity="order", operation=OPERATION, now=now)
        orders = [o for o in _booked_with_changes(conn, store) if o["store_order_id"] not in waiting]
        applied = _adjustments(conn, store, [o["store_order_id"] for o in orders])
    for order in orders:
        # Each order's changes are its own outcome: one the ERP refuses (or fails on) waits for its retry,
        # the others go on.
        try:
            _apply(erp, engine, sales, store, config, order, applied, result, now, warehouses)
        except (ErpUserError, ErpServerError, ChangeNotPossibleYet, EditNotPossibleYet,
                ReturnNotPossibleYet) as error:
            failure = RowFailure(order["store_order_id"], type(error).__name__,
                                 f"changes of order {order['order_name']} ({order['store_order_id']}): {error}")
            with engine.begin() as conn:
                record_failures(conn, store=store, flow=FLOW, entity="order", operation=OPERATION, failures=[failure],
                                run_id=run_id, now=now)
            result.failed.append(failure.message)
            log.warning("%s", failure.message)
        else:
            with engine.begin() as conn:
                resolve(conn, store=store, flow=FLOW, entity="order", operation=OPERATION,
                        keys=[order["store_order_id"]], now=now)
    result.seconds = time.monotonic() - started
    log.info("order changes: %s", result.as_counts())
    return result


def _apply(erp: TrytonClient, engine: Engine, sales: TrytonSales, store: str, config: OrdersConfig,
           order: dict[str, Any], applied: dict[tuple[str, str, str], tuple[str, int | None]], result: ChangesResult,
           now: dt.datetime, warehouses: _Warehouses) -> None:
    """Apply the order's edits, cancellation, returns and refunds that are not applied yet."""
    order_id = order["store_order_id"]
    edit_sales = {ref: sale_id for (o, kind, ref), (_state, sale_id) in applied.items()
                  if o == order_id and kind == "edit"}
    if order["cancelled_at"] is not None and (order_id, "cancel", "cancel") not in applied:
        done, detail = _undo(sales, order["erp_sale_id"], [s for s in edit_sales.values() if s])
        with engine.begin() as conn:
            _record(conn, store, order_id, "cancel", "cancel", "applied" if done else "not_possible", detail, None, now)
            ledger.move(conn, store=store, order_id=order_id, to="cancelled" if done else "cancel_failed",
                        last_error=None if done else detail)
        applied[(order_id, "cancel", "cancel")] = ("applied" if done else "not_possible", None)
        if done:
            result.cancellations += 1
        else:
            result.cancellations_impossible += 1
            result.impossible.append(f"{order['order_name']}: {detail}")
            log.warning("cancellation of %s cannot be applied in the ERP: %s", order["order_name"], detail)
    undone = applied.get((order_id, "cancel", "cancel"), (None,))[0] == "applied"
    _apply_edits(erp, engine, store, config, order, applied, edit_sales, undone, result, now)
    returns = ReturnBooker(erp, engine, store, order, config, warehouses)
    if not undone:
        _apply_returns(engine, store, order, applied, returns, result, now)
    unapplied = [r for r in order["refunds"] or () if (order_id, "refund", r["refund_id"]) not in applied]
    money = Counter(r.get("money", REFUND_SETTLED) for r in unapplied)  # staged before it was read: settled
    result.refunds_waiting += money[REFUND_PENDING]
    result.refunds_failed += money[REFUND_FAILED]
    pending = [r for r in unapplied if r.get("money", REFUND_SETTLED) == REFUND_SETTLED]
    if not pending:
        return
    if undone:
        with engine.begin() as conn:
            for refund in pending:
                _record(conn, store, order_id, "refund", refund["refund_id"], "applied",
                        "covered by the cancellation of the sale", None, now)
        result.refunds_covered += len(pending)
        return
    pending = _beyond_returns(engine, store, order, pending, applied, returns, result, now)
    if pending:
        _book_refunds(erp, sales, engine, store, config, order, pending, result, now)


def _undo(sales: TrytonSales, sale_id: int, edit_sale_ids: list[int]) -> tuple[bool, str]:
    """Undo the order's sale and the sales of its edits: all of them, or (goods left) none. One read of
    their shipments decides; ``undo_sale`` then undoes each (and says why not, were it to find out)."""
    ids = [sale_id, *edit_sale_ids]
    shipped = [s.number or str(s.shipment_id) for sale in sales.shipping(ids) for s in sale.shipments
               if s.state == "done"]
    if shipped:
        return False, f"already shipped (shipment {', '.join(shipped)})"
    outcomes = [sales.undo_sale(s) for s in ids]
    return all(done for done, _ in outcomes), outcomes[0][1]


def _apply_edits(erp: TrytonClient, engine: Engine, store: str, config: OrdersConfig, order: dict[str, Any],
                 applied: dict[tuple[str, str, str], tuple[str, int | None]], edit_sales: dict[str, int | None],
                 undone: bool, result: ChangesResult, now: dt.datetime) -> None:
    order_id = order["store_order_id"]
    pending = [e for e in order["edits"] or () if (order_id, "edit", e["edit_id"]) not in applied]
    if not pending:
        return

    def record(edit_id: str, state: str, detail: str, sale_id: int | None) -> None:
        # An applied edit's units count in the ERP's stock figures from its last call's answer on: its sale
        # confirmed, its amendments validated (the inventory flow holds them back until a read after it).
        counted = erp_counts_from(erp) if state == "applied" else None
        with engine.begin() as conn:
            _record(conn, store, order_id, "edit", edit_id, state, detail, sale_id, now, counted_at=counted)
        applied[(order_id, "edit", edit_id)] = (state, sale_id)

    if undone:  # the order is cancelled: its units are held back nowhere
        for edit in pending:
            record(edit["edit_id"], "applied", "covered by the cancellation of the sale", None)
        result.edits_covered += len(pending)
        return
    done, impossible = EditApplier(erp, engine, store, order, edit_sales, record, config).apply()
    result.edits += done
    result.edits_impossible += len(impossible)
    result.impossible.extend(impossible)


def _apply_returns(engine: Engine, store: str, order: dict[str, Any],
                   applied: dict[tuple[str, str, str], tuple[str, int | None]], booker: ReturnBooker,
                   result: ChangesResult, now: dt.datetime) -> None:
    """Book the order's settled returns not booked yet, each once (``returns``); one the store still
    processes waits for the order's next change."""
    order_id = order["store_order_id"]
    for ret in order.get("returns") or ():
        if (order_id, "return", ret["return_id"]) in applied:
            continue
        if not ret.get("settled", True):
            result.returns_waiting += 1
            continue
        return_sale, exchange_sale = booker.book(ret)
        location = booker.booking(ret).location
        detail = f"restocked at {location}" if location else "nothing restocked"
        counted = erp_counts_from(booker.erp) if exchange_sale is not None else None  # its sale is confirmed
        with engine.begin() as conn:
            _record(conn, store, order_id, "return", ret["return_id"], "applied", detail, return_sale, now)
            if exchange_sale is not None:
                _record(conn, store, order_id, "exchange", ret["return_id"], "applied", "booked", exchange_sale,
                        now, counted_at=counted)
        applied[(order_id, "return", ret["return_id"])] = ("applied", return_sale)
        result.returns += 1
        result.exchanges += exchange_sale is not None


def _beyond_returns(engine: Engine, store: str, order: dict[str, Any], refunds: list[dict[str, Any]],
                    applied: dict[tuple[str, str, str], tuple[str, int | None]], booker: ReturnBooker,
                    result: ChangesResult, now: dt.datetime) -> list[dict[str, Any]]:
    """The refunds to book as refunds: those of no return as they are; one given with a return, once the
    return is booked, for what it gives back beyond the return's value only (nothing when that is all:
    recorded as covered). One of a return not booked yet waits for it."""
    order_id = order["store_order_id"]
    returns = {ret["return_id"]: ret for ret in order.get("returns") or ()}
    plain = []
    for refund in refunds:
        return_id = refund.get("return_id")
        if return_id is None:
            plain.append(refund)
        elif (order_id, "return", return_id) in applied and return_id in returns:
            beyond = refund_beyond(Decimal(refund["total"]), booker.booking(returns[return_id]))
            if beyond:
                plain.append({**refund, "lines": [], "total": str(beyond)})
            else:
                with engine.begin() as conn:
                    _record(conn, store, order_id, "refund", refund["refund_id"], "applied",
                            f"covered by return {return_id}", None, now)
                result.refunds_covered += 1
    return plain


class _Warehouses(Mapping[str, int]):
    """Store location name -> the ERP warehouse of its sales, read from the ERP when first needed."""

    def __init__(self, erp: TrytonClient, catalog: CatalogConfig):
        self.erp, self.catalog = erp, catalog
        self._found: dict[str, int] | None = None

    def _map(self) -> dict[str, int]:
        if self._found is None:
            self._found = sale_warehouses(self.erp.web_shop.warehouses, self.catalog)
        return self._found

    def __getitem__(self, name: str) -> int:
        return self._map()[name]

    def __iter__(self):
        return iter(self._map())

    def __len__(self) -> int:
        return len(self._map())


def _book_refunds(erp: TrytonClient, sales: TrytonSales, engine: Engine, store: str, config: OrdersConfig,
                  order: dict[str, Any], refunds: list[dict[str, Any]], result: ChangesResult, now: dt.datetime) -> None:
    with engine.connect() as conn:
        lines = {row["store_line_id"]: row for row in conn.execute(select(stg_order_line).where(
            stg_order_line.c.store == store, stg_order_line.c.store_order_id == order["store_order_id"])).mappings()}
        products = product_ids_by_sku(conn, {line["sku"] for line in lines.values()})
    refund_product = sales.products_by_code([config.refund_product]).get(config.refund_product)
    if refund_product is None:
        raise ChangeNotPossibleYet(f"the refund product {config.refund_product!r} is not in the ERP: create it, or set "
                                   "its code in the Variable erpsync_orders (refund_product)")
    (sale,) = erp.model("sale.sale", "read", [order["erp_sale_id"]], ["party", "invoice_address", "shipment_address"])
    units = sales.units([*products.values(), refund_product])
    drafts = []
    for refund in refunds:
        draft_lines = []
        for item in refund["lines"]:
            subtotal = Decimal(item["subtotal"])
            line = lines.get(item["line_id"])
            if item["restock"] and line and line["sku"] in products:
                product = products[line["sku"]]
                draft_lines.append(SaleLineDraft(product, Decimal(-item["quantity"]),
                                                 (subtotal / item["quantity"]).quantize(Decimal("0.0001")), units[product],
                                                 f"Return: {line['title']}"))
            else:
                draft_lines.append(SaleLineDraft(refund_product, Decimal(1), -subtotal, units[refund_product],
                                                 f"Refund: {line['title'] if line else item['line_id']}"))
        rest = Decimal(refund["total"]) - sum((Decimal(i["subtotal"]) for i in refund["lines"]), Decimal(0))
        if rest:
            draft_lines.append(SaleLineDraft(refund_product, Decimal(1), -rest, units[refund_product],
                                             "Refund of taxes and shipping"))
        drafts.append(SaleDraft(
            web_id=f"{order['store_order_id']}#refund:{refund['refund_id']}", party_id=sale["party"],
            invoice_address_id=sale["invoice_address"], shipment_address_id=sale["shipment_address"],
            sale_date=dt.date.fromisoformat(refund["created_at"][:10]), reference=f"{order['order_name']} refund",
            lines=tuple(draft_lines), comment=f"Refund {refund['refund_id']} of store order {order['order_name']}",
        ))
    outcomes = erp.create_sales(drafts)
    done = [o for o in outcomes if o.sale_id]
    refused = erp.quote_sales([o.sale_id for o in done])
    refused.update(erp.confirm_sales([o.sale_id for o in done if o.sale_id not in refused]))
    if refused:  # the return sales exist (found again, never doubled, on the retry): confirming them is due
        raise ChangeNotPossibleYet("; ".join(f"return sale {sale_id} not confirmed: {why}"
                                             for sale_id, why in refused.items()))
    with engine.begin() as conn:
        for refund, outcome in zip(refunds, outcomes, strict=True):
            _record(conn, store, order["store_order_id"], "refund", refund["refund_id"],
                    "applied" if outcome.sale_id else "failed", outcome.error, outcome.sale_id, now)
    result.refunds += len(done)
    if len(done) < len(outcomes):
        raise ChangeNotPossibleYet("; ".join(f"refund {refund['refund_id']} refused by the ERP: {outcome.error}"
                                             for refund, outcome in zip(refunds, outcomes, strict=True)
                                             if not outcome.sale_id))


def _booked_with_changes(conn: Connection, store: str) -> list[dict[str, Any]]:
    """Booked orders the store cancelled or refunded (whether or not those changes are applied yet)."""
    rows = conn.execute(
        select(stg_order.c.store_order_id, stg_order.c.order_name, stg_order.c.cancelled_at, stg_order.c.refunds,
               stg_order.c.edits, stg_order.c.returns, stg_order.c.taxes_included,
               order_ledger.c.erp_sale_id, order_ledger.c.state)
        .join(order_ledger, and_(order_ledger.c.store == stg_order.c.store,
                                 order_ledger.c.store_order_id == stg_order.c.store_order_id))
        .where(stg_order.c.store == store, order_ledger.c.erp_sale_id.is_not(None),
               order_ledger.c.state.in_((*ledger.BOOKED, "cancel_failed")))
        .order_by(stg_order.c.store_updated_at)
    ).mappings().all()
    return [dict(r) for r in rows
            if r["cancelled_at"] is not None or r["refunds"] or r["edits"] or r["returns"]]


def _adjustments(conn: Connection, store: str, order_ids: list[str]
                 ) -> dict[tuple[str, str, str], tuple[str, int | None]]:
    """What is done of each order's changes: (order, kind, store ref) -> (state, the ERP sale it made)."""
    found: dict[tuple[str, str, str], tuple[str, int | None]] = {}
    for chunk in db.chunks(order_ids):
        found.update(((o, k, r), (state, sale_id)) for o, k, r, state, sale_id in conn.execute(
            select(order_adjustment.c.store_order_id, order_adjustment.c.kind, order_adjustment.c.store_ref,
                   order_adjustment.c.state, order_adjustment.c.erp_sale_id)
            .where(order_adjustment.c.store == store, order_adjustment.c.store_order_id.in_(chunk),
                   order_adjustment.c.state.in_(("applied", "not_possible")))))
    return found


def _record(conn: Connection, store: str, order_id: str, kind: str, ref: str, state: str, detail: str | None,
            sale_id: int | None, now: dt.datetime, *, counted_at: dt.datetime | None = None) -> None:
    db.upsert(conn, order_adjustment, [{
        "store": store, "store_order_id": order_id, "kind": kind, "store_ref": ref, "state": state, "detail": detail,
        "erp_sale_id": sale_id, "erp_counted_at": counted_at, "created_at": now, "updated_at": now,
    }], key=["store", "store_order_id", "kind", "store_ref"],
        update=["state", "detail", "erp_sale_id", "erp_counted_at", "updated_at"])
