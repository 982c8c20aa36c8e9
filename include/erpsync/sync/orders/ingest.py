"""Book staged store orders in the ERP, exactly once.

The store order id is the sale's external key in the ERP (``web_shop`` + ``web_id``, unique there). Each
order goes through the ledger (``order_ledger``):

    (none) -> pending -> created -> confirmed      (or: failed, retried later; cancelled before booking)

The ledger row is claimed ``pending`` before the ERP is called, and every create first looks the order up
in the ERP (:meth:`TrytonClient.create_sales`): a crash between "created in the ERP" and "ledger written",
a retried task, a cleared run, two overlapping runs or a backfill find the sale instead of creating a
second one. Customers are matched by e-mail (a returning customer gets no second party), addresses by
their text; the sale's lines are the goods at their original prices plus service lines for the
discounts, shipping and taxes, so that the ERP's total equals the store's to the cent.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select

from erpsync.common.progress import Progress
from erpsync.sync.orders.config import OrdersConfig
from erpsync.sync.state.row_errors import RowFailure, due_keys, record_failures, resolve
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.errors import ErpError
from erpsync.tryton.records import SaleDraft, SaleLineDraft
from erpsync.tryton.sales import AddressSpec, NewParty, TrytonSales, address_text
from erpsync.warehouse import db
from erpsync.warehouse.schema import order_ledger, stg_order, stg_order_line, stg_product

log = logging.getLogger(__name__)

FLOW = "orders"
DONE_STATES = ("created", "confirmed", "cancelled", "cancel_failed", "fulfilled")


@dataclass
class IngestResult:
    considered: int = 0
    created: int = 0  # sales created by this run
    found: int = 0  # sales the ERP already had (an earlier attempt): recorded, not created again
    confirmed: int = 0
    cancelled_before_booking: int = 0
    failed: int = 0
    seconds: float = 0.0
    orders_per_s: float = 0.0
    failures: list[str] = field(default_factory=list)

    def as_counts(self) -> dict[str, Any]:
        counts = dict(self.__dict__)
        counts["failures"] = self.failures[:10]
        counts["seconds"] = round(self.seconds, 3)
        return counts


def ingest_orders(erp: TrytonClient, engine: Engine, *, store: str, config: OrdersConfig, run_id: str | None,
                  now: dt.datetime) -> IngestResult:
    started = time.monotonic()
    result = IngestResult()
    with engine.connect() as conn:
        orders = _to_book(conn, store, now)
        unconfirmed = list(conn.execute(
            select(order_ledger.c.erp_sale_id)
            .join(stg_order, and_(stg_order.c.store == order_ledger.c.store,
                                  stg_order.c.store_order_id == order_ledger.c.store_order_id))
            .where(order_ledger.c.store == store, order_ledger.c.state == "created", stg_order.c.cancelled_at.is_(None))
        ).scalars())
    result.considered = len(orders)
    booker = _Booker(erp, engine, store, config, run_id, now)
    # Sales created by an attempt that stopped before confirming them.
    booker.confirm(unconfirmed, result)
    if orders:
        progress = Progress(log, "book orders in the ERP", total=len(orders))
        for start in range(0, len(orders), erp.sale_batch_size):
            booker.book(orders[start:start + erp.sale_batch_size], result)
            progress.add(len(orders[start:start + erp.sale_batch_size]))
        progress.finish()
    result.seconds = time.monotonic() - started
    result.orders_per_s = round((result.created + result.found) / result.seconds, 2) if result.seconds else 0.0
    log.info("ingest: %s", result.as_counts())
    return result


def _to_book(conn: Connection, store: str, now: dt.datetime) -> list[dict[str, Any]]:
    """Staged orders without a sale yet: never booked, or an attempt that did not finish and is due."""
    due = set(due_keys(conn, flow=FLOW, entity="order", operation="create_sale", now=now))
    ledger = order_ledger
    rows = conn.execute(
        select(stg_order, ledger.c.state.label("ledger_state"))
        .outerjoin(ledger, and_(ledger.c.store == stg_order.c.store, ledger.c.store_order_id == stg_order.c.store_order_id))
        .where(stg_order.c.store == store, or_(ledger.c.state.is_(None), ledger.c.state.in_(("pending", "failed"))))
        .order_by(stg_order.c.store_created_at, stg_order.c.store_order_id)
    ).mappings().all()
    return [dict(r) for r in rows if r["ledger_state"] != "failed" or r["store_order_id"] in due]


class _Booker:
    def __init__(self, erp: TrytonClient, engine: Engine, store: str, config: OrdersConfig, run_id: str | None,
                 now: dt.datetime):
        self.erp = erp
        self.sales = TrytonSales(erp)
        self.engine = engine
        self.store = store
        self.config = config
        self.run_id = run_id
        self.now = now
        self._services: dict[str, int] | None = None

    @property
    def services(self) -> dict[str, int]:
        if self._services is None:
            codes = self.config.service_codes
            found = self.sales.products_by_code(codes.values())
            missing = sorted(code for code in codes.values() if code not in found)
            if missing:
                raise ErpError(f"service products {missing} are not in the ERP: create them, or set their codes in "
                               "the Variable erpsync_orders (shipping_product, tax_product, ...)")
            self._services = {kind: found[code] for kind, code in codes.items()}
        return self._services

    def book(self, orders: list[dict[str, Any]], result: IngestResult) -> None:
        cancelled = [o for o in orders if o["cancelled_at"] is not None]
        live = [o for o in orders if o["cancelled_at"] is None]
        # An order cancelled before it was booked needs no sale, unless an earlier attempt created one
        # that its ledger row does not know of: that sale is recorded, and the cancellation step undoes it.
        existing = self.erp.sales_by_web_id(o["store_order_id"] for o in cancelled) if cancelled else {}
        with self.engine.begin() as conn:
            for order in cancelled:
                sale = existing.get(order["store_order_id"])
                self._ledger(conn, [order], state="created" if sale else "cancelled", sale_id=sale.id if sale else None)
            self._ledger(conn, live, state="pending", attempt=True)
        result.cancelled_before_booking += len(cancelled) - len(existing)
        if not live:
            return
        try:
            drafts = self._drafts(live)
        except ErpError as error:  # the batch cannot be prepared (e.g. a country the ERP lacks)
            self._fail(live, type(error).__name__, str(error), result)
            return
        outcomes = self.erp.create_sales(list(drafts.values()))
        booked = {o.web_id: o for o in outcomes if o.sale_id}
        with self.engine.begin() as conn:
            for order in live:
                outcome = booked.get(order["store_order_id"])
                if outcome:
                    self._ledger(conn, [order], state="created", sale_id=outcome.sale_id)
            resolve(conn, flow=FLOW, entity="order", operation="create_sale", keys=booked, now=self.now)
        result.created += sum(1 for o in booked.values() if o.created)
        result.found += sum(1 for o in booked.values() if not o.created)
        refused = [o for o in outcomes if not o.sale_id]
        if refused:
            self._fail([o for o in live if o["store_order_id"] in {r.web_id for r in refused}], "SaleRefused",
                       "; ".join(f"{r.web_id}: {r.error}" for r in refused[:3]), result)
        self.confirm([o.sale_id for o in booked.values()], result)

    def confirm(self, sale_ids: list[int], result: IngestResult) -> None:
        """Quote and confirm: from then on the ERP plans the shipment and its stock forecast counts the sale."""
        if not sale_ids:
            return
        self.erp.quote_sales(sale_ids)
        self.erp.confirm_sales(sale_ids)
        confirmed = {s.id: s for s in self.erp.read_sales(sale_ids) if s.state in ("confirmed", "processing", "done")}
        confirmed_at = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            for chunk in db.chunks(sorted(confirmed)):
                for sale_id in chunk:
                    conn.execute(order_ledger.update().where(
                        order_ledger.c.erp_sale_id == sale_id, order_ledger.c.state == "created",
                    ).values(state="confirmed", erp_sale_number=confirmed[sale_id].number,
                             erp_confirmed_at=confirmed_at, updated_at=confirmed_at, last_error=None))
        result.confirmed += len(confirmed)

    def _fail(self, orders: Sequence[dict[str, Any]], kind: str, message: str, result: IngestResult) -> None:
        with self.engine.begin() as conn:
            for order in orders:
                self._ledger(conn, [order], state="failed", error=message)
            record_failures(conn, flow=FLOW, entity="order", operation="create_sale", run_id=self.run_id, now=self.now,
                            failures=[RowFailure(o["store_order_id"], kind, message) for o in orders])
        result.failed += len(orders)
        result.failures.append(message)
        log.warning("%d order(s) not booked: %s", len(orders), message)

    def _ledger(self, conn: Connection, orders: Sequence[dict[str, Any]], *, state: str, sale_id: int | None = None,
                attempt: bool = False, error: str | None = None) -> None:
        for order in orders:
            key = (order_ledger.c.store == self.store) & (order_ledger.c.store_order_id == order["store_order_id"])
            values = {"state": state, "order_name": order["order_name"], "updated_at": self.now,
                      "store_updated_at": order["store_updated_at"], "last_error": error}
            if sale_id is not None:
                values["erp_sale_id"] = sale_id
            if conn.execute(order_ledger.update().where(key).values(
                    **values, **({"attempts": order_ledger.c.attempts + 1} if attempt else {}))).rowcount == 0:
                db.upsert(conn, order_ledger, [{
                    "store": self.store, "store_order_id": order["store_order_id"], "created_at": self.now,
                    "attempts": 1 if attempt else 0, **values}], key=["store", "store_order_id"])

    # -- what the ERP gets ------------------------------------------------------------------------------

    def _drafts(self, orders: list[dict[str, Any]]) -> dict[str, SaleDraft]:
        with self.engine.connect() as conn:
            lines = _lines(conn, self.store, [o["store_order_id"] for o in orders])
            products = product_ids_by_sku(conn, {line["sku"] for ls in lines.values() for line in ls})
        parties = self._parties(orders)
        specs = {}
        for order in orders:
            party = parties[order["store_order_id"]]
            for kind in ("shipping_address", "billing_address"):
                spec = _spec(party, order, order.get(kind) or order.get("shipping_address"))
                if spec:
                    specs[(order["store_order_id"], kind)] = spec
        addresses = self.sales.addresses(list(specs.values()))
        units = self.sales.units([*products.values(), *self.services.values()])
        drafts = {}
        for order in orders:
            order_id = order["store_order_id"]
            shipping = addresses.get(specs[(order_id, "shipping_address")].key) if (order_id, "shipping_address") in specs else None
            billing = addresses.get(specs[(order_id, "billing_address")].key) if (order_id, "billing_address") in specs else shipping
            if shipping is None or billing is None:
                raise ErpError(f"order {order['order_name']} has no address to book it with")
            goods = tuple(
                SaleLineDraft(product_id=products[line["sku"]], quantity=line["quantity"], unit_price=line["unit_price"],
                              unit_id=units[products[line["sku"]]], description=line["title"])
                for line in lines[order_id]
            )
            drafts[order_id] = SaleDraft(
                web_id=order_id, party_id=parties[order_id], invoice_address_id=billing, shipment_address_id=shipping,
                sale_date=order["store_created_at"].date(), reference=order["order_name"],
                lines=goods + self._service_lines(order, units),
                comment=f"Store order {order['order_name']} ({order_id})",
            )
        return drafts

    def _service_lines(self, order: dict[str, Any], units: dict[int, int]) -> tuple[SaleLineDraft, ...]:
        amounts = (("discount", -order["discount_total"], "Discounts"), ("shipping", order["shipping_total"], "Shipping"),
                   ("tax", order["tax_total"], "Taxes"))
        return tuple(
            SaleLineDraft(product_id=self.services[kind], quantity=Decimal(1), unit_price=amount,
                          unit_id=units[self.services[kind]], description=label)
            for kind, amount, label in amounts if amount
        )

    def _parties(self, orders: list[dict[str, Any]]) -> dict[str, int]:
        """The ERP party of each order: found by e-mail, else created (once per e-mail in the batch)."""
        emails = {o["store_order_id"]: ((o["customer"] or {}).get("email") or "").strip().lower() for o in orders}
        known = self.sales.parties_by_email(e for e in emails.values() if e)
        new: dict[str, NewParty] = {}
        for order in orders:
            email = emails[order["store_order_id"]]
            key = email or order["store_order_id"]  # a guest without e-mail: a party of its own
            if email not in known and key not in new:
                new[key] = NewParty(_customer_name(order), email or None)
        created = dict(zip(new, self.sales.create_parties(list(new.values())), strict=True))
        return {o["store_order_id"]: known.get(emails[o["store_order_id"]]) or created[emails[o["store_order_id"]]
                                                                                     or o["store_order_id"]]
                for o in orders}


def _customer_name(order: dict[str, Any]) -> str:
    customer = order["customer"] or {}
    address = order.get("shipping_address") or order.get("billing_address") or {}
    first = customer.get("first_name") or address.get("first_name") or ""
    last = customer.get("last_name") or address.get("last_name") or ""
    return f"{first} {last}".strip() or customer.get("email") or f"Store customer ({order['order_name']})"


def _spec(party_id: int, order: dict[str, Any], address: dict[str, Any] | None) -> AddressSpec | None:
    if not address:
        return None
    name = " ".join(p for p in (address.get("first_name"), address.get("last_name")) if p) or None
    return AddressSpec(party_id=party_id, party_name=name, street=address_text(address.get("address1"), address.get("address2")),
                       postal_code=address.get("zip"), city=address.get("city"), country_code=address.get("country_code"),
                       subdivision_code=address.get("province_code"))


def _lines(conn: Connection, store: str, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    lines: dict[str, list[dict[str, Any]]] = {order_id: [] for order_id in order_ids}
    for chunk in db.chunks(order_ids):
        for row in conn.execute(select(stg_order_line).where(stg_order_line.c.store == store,
                                                             stg_order_line.c.store_order_id.in_(chunk))
                                .order_by(stg_order_line.c.store_order_id, stg_order_line.c.store_line_id)).mappings():
            lines[row["store_order_id"]].append(dict(row))
    return lines


def product_ids_by_sku(conn: Connection, skus: set[str]) -> dict[str, int]:
    """The ERP product id of each SKU, from staging."""
    found: dict[str, int] = {}
    for chunk in db.chunks(sorted(s for s in skus if s)):
        found.update(conn.execute(select(stg_product.c.sku, stg_product.c.erp_product_id)
                                  .where(stg_product.c.sku.in_(chunk))).all())
    return found
