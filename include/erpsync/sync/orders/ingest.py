"""Book staged store orders in the ERP, exactly once.

The store order id is the sale's external key in the ERP (``web_shop`` + ``web_id``, unique there). Each
order goes through the ledger (:mod:`erpsync.sync.orders.ledger`, every move a compare-and-set):

    (none) -> pending -> created -> confirmed      (or: failed, retried later; cancelled before booking)

The ledger row is claimed ``pending`` before the ERP is called (an order another run has booked meanwhile
is not claimed, and stays as that run left it), and every create first looks the order up
in the ERP (:meth:`TrytonClient.create_sales`): a crash between "created in the ERP" and "ledger written",
a retried task, a cleared run, two overlapping runs or a backfill find the sale instead of creating a
second one. Customers are matched by e-mail (a returning customer gets no second party), addresses by
their text; the sale's lines are the goods at their original prices plus service lines for the
discounts, shipping and taxes, so that the ERP's total equals the store's to the cent (with prices that
include the tax, no tax line: the others hold it).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select

from erpsync.common.progress import Progress
from erpsync.sync.catalog.config import CatalogConfig
from erpsync.sync.orders import edit_plan, ledger, parties
from erpsync.sync.orders.config import OrdersConfig
from erpsync.sync.state.row_errors import RowFailure, due_keys, record_failures, resolve, waiting_keys
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.records import ErpWarehouse, SaleDraft, SaleLineDraft
from erpsync.tryton.sales import AddressSpec, TrytonSales
from erpsync.warehouse import db
from erpsync.warehouse.schema import order_ledger, stg_order, stg_order_line, stg_product

log = logging.getLogger(__name__)

FLOW = "orders"


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
                  now: dt.datetime, catalog: CatalogConfig | None = None,
                  only: Collection[str] | None = None) -> IngestResult:
    """Book the staged orders (``only``: of these store order ids; reconciliation leaves the rest to the
    order flow); ``catalog`` maps store locations to ERP warehouses (default: same names): each sale is
    booked in the warehouse of the location the store takes its goods from."""
    started = time.monotonic()
    result = IngestResult()
    with engine.connect() as conn:
        orders = _to_book(conn, store, now)
        if only is not None:
            wanted = set(only)
            orders = [order for order in orders if order["store_order_id"] in wanted]
        waiting = waiting_keys(conn, store=store, flow=FLOW, entity="order", operation="confirm_sale", now=now)
        unconfirmed = {sale_id: order_id for sale_id, order_id in conn.execute(
            select(order_ledger.c.erp_sale_id, order_ledger.c.store_order_id)
            .join(stg_order, and_(stg_order.c.store == order_ledger.c.store,
                                  stg_order.c.store_order_id == order_ledger.c.store_order_id))
            .where(order_ledger.c.store == store, order_ledger.c.state == "created", stg_order.c.cancelled_at.is_(None))
        ) if order_id not in waiting}
    result.considered = len(orders)
    booker = _Booker(erp, engine, store, config, run_id, now, catalog or CatalogConfig())
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


def sale_warehouses(warehouses: Sequence[ErpWarehouse], catalog: CatalogConfig) -> dict[str, int]:
    """Store location name -> id of the ERP warehouse a sale taking goods from it is booked in: the first
    warehouse the catalog maps to the location (the ERP's stock of that warehouse is what it sells)."""
    by_code = {w.code: w.id for w in warehouses}
    return {location: by_code[codes[0]]
            for location, codes in catalog.mapping({w.code: w.name for w in warehouses}).items()}


def _to_book(conn: Connection, store: str, now: dt.datetime) -> list[dict[str, Any]]:
    """Staged orders without a sale yet: never booked, or an attempt that did not finish and is due."""
    due = set(due_keys(conn, store=store, flow=FLOW, entity="order", operation="create_sale", now=now))
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
                 now: dt.datetime, catalog: CatalogConfig):
        self.erp = erp
        self.catalog = catalog
        self.sales = TrytonSales(erp)
        self.engine = engine
        self.store = store
        self.config = config
        self.run_id = run_id
        self.now = now
        self._services: tuple[dict[str, int], dict[str, str]] | None = None

    @cached_property
    def warehouses(self) -> dict[str, int]:
        """Store location name -> the ERP warehouse its sales are booked in (the first one mapped to it)."""
        return sale_warehouses(self.erp.web_shop.warehouses, self.catalog)

    def services(self) -> tuple[dict[str, int], dict[str, str]]:
        """The ERP product of each service line kind (discount, shipping, tax...), and the codes of those
        the ERP lacks: only the orders that need a missing one are held."""
        if self._services is None:
            codes = self.config.service_codes
            found = self.sales.products_by_code(codes.values())
            self._services = ({kind: found[code] for kind, code in codes.items() if code in found},
                              {kind: code for kind, code in codes.items() if code not in found})
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
                if self._move(conn, order, "created" if sale else "cancelled", erp_sale_id=sale.id if sale else None):
                    result.cancelled_before_booking += sale is None
            # Claimed for this attempt; an order another run claimed or booked meanwhile is left to it.
            live = [order for order in live if ledger.claim(
                conn, store=self.store, order_id=order["store_order_id"], run_id=self.run_id,
                **self._order_values(order))]
        if not live:
            return
        drafts, unbookable = self._drafts(live)
        self._fail(unbookable, result)
        if not drafts:
            return
        outcomes = self.erp.create_sales(list(drafts.values()))
        booked = {o.web_id: o for o in outcomes if o.sale_id}
        with self.engine.begin() as conn:
            for order in live:
                outcome = booked.get(order["store_order_id"])
                if outcome:
                    self._move(conn, order, "created", erp_sale_id=outcome.sale_id)
            resolve(conn, store=self.store, flow=FLOW, entity="order", operation="create_sale", keys=booked,
                    now=self.now)
        result.created += sum(1 for o in booked.values() if o.created)
        result.found += sum(1 for o in booked.values() if not o.created)
        names = {o["store_order_id"]: o["order_name"] for o in live}
        self._fail([RowFailure(o.web_id, "SaleRefused", f"order {names[o.web_id]} ({o.web_id}): the ERP refused the "
                                                        f"sale: {o.error}")
                    for o in outcomes if not o.sale_id], result)
        self.confirm({o.sale_id: o.web_id for o in booked.values()}, result)

    def confirm(self, sales: dict[int, str], result: IngestResult) -> None:
        """Quote and confirm (``sales``: ERP sale id -> store order id): from then on the ERP plans the
        shipment and its stock forecast counts the sale. A sale the ERP refuses to quote or confirm stays
        ``created`` and is tried again after its backoff; the others go on."""
        if not sales:
            return
        sale_ids = list(sales)
        refused = self.erp.quote_sales(sale_ids)
        refused.update(self.erp.confirm_sales([s for s in sale_ids if s not in refused]))
        confirmed = {s.id: s for s in self.erp.read_sales(sale_ids) if s.state in ("confirmed", "processing", "done")}
        counted_from = erp_counts_from(self.erp)  # after the read that just saw them confirmed
        with self.engine.begin() as conn:
            record_failures(conn, store=self.store, flow=FLOW, entity="order", operation="confirm_sale",
                            run_id=self.run_id, now=self.now, failures=[
                                RowFailure(sales[sale_id], "ConfirmRefused",
                                           f"sale {sale_id} of store order {sales[sale_id]}: {reason}")
                                for sale_id, reason in refused.items() if sale_id not in confirmed])
            resolve(conn, store=self.store, flow=FLOW, entity="order", operation="confirm_sale",
                    keys=[sales[sale_id] for sale_id in confirmed], now=self.now)
        with self.engine.begin() as conn:
            for sale_id in sorted(confirmed):
                ledger.move(conn, store=self.store, order_id=sales[sale_id], to="confirmed",
                            erp_sale_number=confirmed[sale_id].number, erp_confirmed_at=counted_from, last_error=None)
        result.confirmed += len(confirmed)

    def _fail(self, failures: Sequence[RowFailure], result: IngestResult) -> None:
        """Each order that could not be booked: ``failed`` in the ledger with its reason, and in the error
        queue, retried after its backoff; the other orders of the batch go on."""
        if not failures:
            return
        with self.engine.begin() as conn:
            for failure in failures:
                ledger.move(conn, store=self.store, order_id=failure.key, to="failed",
                            last_error=failure.message)
            record_failures(conn, store=self.store, flow=FLOW, entity="order", operation="create_sale",
                            run_id=self.run_id, now=self.now, failures=failures)
        result.failed += len(failures)
        result.failures.extend(f.message for f in failures)
        for failure in failures:
            log.warning("not booked: %s", failure.message)

    def _move(self, conn: Connection, order: dict[str, Any], to: str, **values: Any) -> bool:
        return ledger.move(conn, store=self.store, order_id=order["store_order_id"], to=to,
                           **self._order_values(order), **values)

    @staticmethod
    def _order_values(order: dict[str, Any]) -> dict[str, Any]:
        return {"order_name": order["order_name"], "store_updated_at": order["store_updated_at"], "last_error": None}

    # -- what the ERP gets ------------------------------------------------------------------------------

    def _drafts(self, orders: list[dict[str, Any]]) -> tuple[dict[str, SaleDraft], list[RowFailure]]:
        """The sale of each order that can be booked, and a failure naming the order and the fix for each
        one that cannot (a product, a service product or a country the ERP lacks)."""
        with self.engine.connect() as conn:
            lines = _lines(conn, self.store, [o["store_order_id"] for o in orders])
            # The sale is booked as the order was placed; its edits and returns follow, each once
            # (changes.py).
            for order in orders:
                placed = edit_plan.placed_quantities(lines[order["store_order_id"]], order.get("edits") or (),
                                                     order.get("returns") or ())
                lines[order["store_order_id"]] = [{**line, "quantity": Decimal(placed[line["store_line_id"]])}
                                                  for line in lines[order["store_order_id"]]
                                                  if placed[line["store_line_id"]] > 0]
            products = product_ids_by_sku(conn, {line["sku"] for ls in lines.values() for line in ls})
        services, missing_services = self.services()
        countries = self.sales.country_ids()
        unbookable = [f for o in orders
                      if (f := _unbookable(o, lines[o["store_order_id"]], products, missing_services, countries))]
        held = {f.key for f in unbookable}
        orders = [o for o in orders if o["store_order_id"] not in held]
        party_of, refused = self._parties(orders)
        unbookable.extend(refused)
        orders = [o for o in orders if o["store_order_id"] in party_of]
        # A digital order (nothing to ship) may come without a shipping address: its billing address serves
        # for both. With neither, the customer's address in the ERP, and for a customer with none (a guest
        # buying a download), an address that carries the customer's name only (found again next time).
        specs = {}
        for order in orders:
            for kind, fallback in (("shipping_address", "billing_address"), ("billing_address", "shipping_address")):
                spec = parties.address_spec(party_of[order["store_order_id"]], order,
                                            order.get(kind) or order.get(fallback))
                if spec:
                    specs[(order["store_order_id"], kind)] = spec
        without = [o for o in orders if (o["store_order_id"], "billing_address") not in specs]
        known = self.sales.first_addresses(party_of[o["store_order_id"]] for o in without)
        for order in without:
            party = party_of[order["store_order_id"]]
            if party not in known:
                name_only = AddressSpec(party, parties.customer_name(order), "", None, None, None, None)
                specs[(order["store_order_id"], "shipping_address")] = name_only
                specs[(order["store_order_id"], "billing_address")] = name_only
        addresses = self.sales.addresses(list(specs.values()))
        units = self.sales.units([*products.values(), *services.values()])
        drafts = {}
        for order in orders:
            order_id = order["store_order_id"]
            shipping, billing = (addresses[specs[(order_id, kind)].key] if (order_id, kind) in specs
                                 else known[party_of[order_id]] for kind in ("shipping_address", "billing_address"))
            goods = tuple(
                SaleLineDraft(product_id=products[line["sku"]], quantity=line["quantity"], unit_price=line["unit_price"],
                              unit_id=units[products[line["sku"]]], description=line["title"])
                for line in lines[order_id]
            )
            drafts[order_id] = SaleDraft(
                web_id=order_id, party_id=party_of[order_id], invoice_address_id=billing, shipment_address_id=shipping,
                sale_date=order["store_created_at"].date(), reference=order["order_name"],
                lines=goods + self._service_lines(order, services, units),
                # The warehouse of the location the store took the goods from; unknown or unmapped: the
                # web shop's first warehouse (the client's default).
                warehouse_id=self.warehouses.get(order.get("store_location") or ""),
                comment=f"Store order {order['order_name']} ({order_id})" + (
                    f"; prices include taxes of {order['tax_total']:.2f}" if order.get("taxes_included")
                    else ""),
            )
        return drafts, unbookable

    @staticmethod
    def _service_lines(order: dict[str, Any], services: dict[str, int], units: dict[int, int]
                       ) -> tuple[SaleLineDraft, ...]:
        return tuple(
            SaleLineDraft(product_id=services[kind], quantity=Decimal(1), unit_price=amount,
                          unit_id=units[services[kind]], description=label)
            for kind, amount, label in _service_amounts(order) if amount
        )

    def _parties(self, orders: list[dict[str, Any]]) -> tuple[dict[str, int], list[RowFailure]]:
        """The ERP party of each order by the matching rule (:mod:`erpsync.sync.orders.parties`), and a
        failure for each order whose customer the ERP refuses to create (the batch's others go on)."""
        def refused(order: dict[str, Any], error: Exception) -> RowFailure:
            return RowFailure(order["store_order_id"], "PartyRefused", (
                f"order {order['order_name']} ({order['store_order_id']}): the ERP refused its customer: "
                f"{getattr(error, 'message', None) or error} (correct the customer in the store or the ERP; the "
                "order is tried again after its backoff)"))

        found, failures = parties.parties_or_refusals(self.sales, orders, refused)
        return {order_id: party for order_id, (party, _) in found.items()}, failures


def _service_amounts(order: dict[str, Any]) -> tuple[tuple[str, Decimal, str], ...]:
    """The service lines an order's sale carries besides its goods: (kind, amount, label). With prices that
    include the tax, the goods, discount and shipping lines hold it already: no tax line comes on top (the
    sale's comment says how much of it is tax). The discounts and taxes are those the order was placed with:
    its edits book theirs in sales of their own."""
    discount, tax = edit_plan.placed_money(order)
    return (("discount", -discount, "Discounts"), ("shipping", order["shipping_total"], "Shipping"),
            ("tax", Decimal(0) if order.get("taxes_included") else tax, "Taxes"))


def _unbookable(order: dict[str, Any], lines: list[dict[str, Any]], products: dict[str, int],
                missing_services: dict[str, str], countries: dict[str, int]) -> RowFailure | None:
    """Why this order cannot be booked as it stands (None when it can): the reason names the order and
    what to fix; the order is tried again after its backoff."""
    order_id, name = order["store_order_id"], order["order_name"]
    unknown = sorted({line["sku"] or f"(no SKU: {line['title']})" for line in lines if line["sku"] not in products})
    if unknown or not lines:
        return RowFailure(order_id, "UnknownProduct", (
            f"order {name} ({order_id}): {', '.join(unknown) or 'no lines'} not among the ERP's products: create "
            "or activate the product in the ERP's web shop (or correct the SKU in the store)"))
    needed = sorted({missing_services[kind] for kind, amount, _ in _service_amounts(order)
                     if amount and kind in missing_services})
    if needed:
        return RowFailure(order_id, "MissingServiceProduct", (
            f"order {name} ({order_id}) needs the service product(s) {needed}, which the ERP lacks: create them, "
            "or set their codes in the Variable erpsync_orders (discount_product, shipping_product, tax_product)"))
    unknown_countries = sorted({code.upper() for kind in ("shipping_address", "billing_address")
                                if (code := (order.get(kind) or {}).get("country_code"))
                                and code.upper() not in countries})
    if unknown_countries:
        return RowFailure(order_id, "UnknownCountry", (
            f"order {name} ({order_id}): country {', '.join(unknown_countries)} is not in the ERP: add it "
            "(Tryton: Countries); the order is booked on its next retry"))
    return None


def _lines(conn: Connection, store: str, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    lines: dict[str, list[dict[str, Any]]] = {order_id: [] for order_id in order_ids}
    for chunk in db.chunks(order_ids):
        for row in conn.execute(select(stg_order_line).where(stg_order_line.c.store == store,
                                                             stg_order_line.c.store_order_id.in_(chunk))
                                .order_by(stg_order_line.c.store_order_id, stg_order_line.c.store_line_id)).mappings():
            lines[row["store_order_id"]].append(dict(row))
    return lines


def erp_counts_from(erp: TrytonClient) -> dt.datetime:
    """From when the ERP's stock figures count what this thread's calls so far committed (sales confirmed,
    amendments validated): its clock when it answered the last of them, rounded up past that answer. A
    stock level read at or after this time counts them (``desired.pending_quantities``); both times are
    the ERP's, never a worker's (the worker's is the fallback of an ERP that did not say)."""
    answered = erp.server_clock()
    return answered + dt.timedelta(seconds=1) if answered else dt.datetime.now(dt.UTC)


def product_ids_by_sku(conn: Connection, skus: set[str]) -> dict[str, int]:
    """The ERP product id of each SKU, from staging."""
    found: dict[str, int] = {}
    for chunk in db.chunks(sorted(s for s in skus if s)):
        found.update(conn.execute(select(stg_product.c.sku, stg_product.c.erp_product_id)
                                  .where(stg_product.c.sku.in_(chunk))).all())
    return found
