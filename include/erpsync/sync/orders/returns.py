"""Book the store's returns of booked orders in the ERP, each once, with the items given in exchange.

A return (Shopify's Returns API) is booked once it is settled (every unit processed and disposed of, or
the return closed), as one or two ERP sales keyed by the return's id, so that a run killed half way finds
them on its retry instead of booking them again:

- the return's sale (``web_id`` "<order id>#return:<return id>"): the units the store restocked as goods
  with negative quantities, booked in the warehouse of the location the store put them back at (the
  ERP's customer return shipment brings them into that warehouse's stock), the units it did not restock
  (damaged, missing) as a refund line (money only), and what the return takes off the order's discounts
  and taxes as discount and tax lines;
- the exchange's sale (``"<order id>#exchange:<return id>"``): the items given in exchange, goods the
  ERP ships as it ships any sale, with the discount and tax they add.

The money moves once. The two sales hold the whole value of the return: what the customer got back for
the returned goods less what the exchange items cost. A refund the store gave with the return (its
``return_id``) is that same money, so it books nothing more than what it gives back beyond them
(shipping, a fee kept): :func:`refund_beyond`. Without that, an exchange would be booked at twice its
value (once as the return's goods, once as the refund).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from sqlalchemy import Engine, select

from erpsync.sync.orders.config import OrdersConfig
from erpsync.sync.orders.ingest import product_ids_by_sku
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.records import SaleDraft, SaleLineDraft
from erpsync.tryton.sales import TrytonSales
from erpsync.warehouse.schema import stg_order_line

log = logging.getLogger(__name__)

CENT = Decimal("0.01")


class ReturnNotPossibleYet(Exception):
    """The return cannot be booked until something changes (the message says what)."""


def return_key(order_id: str, return_id: str) -> str:
    return f"{order_id}#return:{return_id}"


def exchange_key(order_id: str, return_id: str) -> str:
    return f"{order_id}#exchange:{return_id}"


# -- what a return books (pure) ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BookLine:
    """One line of a return's or an exchange's sale: ``line_id`` goods (``units`` signed, at the store
    line's unit price) or, with ``line_id`` None, a service of ``kind`` (refund, discount, tax)."""

    kind: str  # goods | refund | discount | tax
    units: int
    amount: Decimal  # the unit price of goods; the amount of a service line
    line_id: str | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class ReturnBooking:
    returned: tuple[BookLine, ...]  # the return's sale; empty: nothing came back (an exchange alone)
    exchanged: tuple[BookLine, ...]  # the exchange's sale; empty: no exchange
    location: str | None  # where the store restocked most of the returned units (the return sale's warehouse)

    @property
    def total(self) -> Decimal:
        """What both sales total: negative when the customer gets money back, positive when they owe."""
        return sum((_line_total(line) for line in (*self.returned, *self.exchanged)), Decimal(0))


def _line_total(line: BookLine) -> Decimal:
    return line.amount * line.units if line.kind == "goods" else line.amount


def booking(ret: Mapping[str, Any], lines: Mapping[str, Mapping[str, Any]], *,
            taxes_included: bool) -> ReturnBooking:
    """The lines a staged return (``stg_order.returns``) books, from the order's staged lines (unit price,
    title). Restocked units are goods coming back; the others money only. Taxes included in the prices
    are in the goods' amounts already: no tax line then."""
    returned: list[BookLine] = []
    where: dict[str, int] = {}
    for item in ret.get("returned") or ():
        price, title = _priced(lines, item["line_id"])
        back = min(sum(int(units) for _, units in item.get("restocked") or ()), int(item["quantity"]))
        for name, units in item.get("restocked") or ():
            where[name] = where.get(name, 0) + int(units)
        if back:
            returned.append(BookLine("goods", -back, price, item["line_id"], f"Return: {title}"))
        if kept := int(item["quantity"]) - back:
            returned.append(BookLine("refund", 1, -price * kept, None,
                                     f"Returned, not restocked: {kept} x {title}"))
    returned += _money(ret.get("returned") or (), taxes_included, "return")
    exchanged = [BookLine("goods", int(item["quantity"]), price, item["line_id"], f"Exchange: {title}")
                 for item in ret.get("exchanged") or ()
                 for price, title in [_priced(lines, item["line_id"])]]
    if exchanged:
        exchanged += _money(ret.get("exchanged") or (), taxes_included, "exchange")
    location = min(where, key=lambda name: (-where[name], name)) if where else None
    return ReturnBooking(tuple(returned), tuple(exchanged), location)


def _priced(lines: Mapping[str, Mapping[str, Any]], line_id: str) -> tuple[Decimal, str]:
    """The unit price and title of a staged order line."""
    line = lines.get(line_id) or {}
    return Decimal(str(line.get("unit_price") or 0)), line.get("title") or line_id


def _money(items, taxes_included: bool, what: str) -> list[BookLine]:
    """The discount and tax lines of what ``items`` move of the order's discounts and taxes (signed as
    the store gives them: a returned unit's come negative)."""
    discount = sum((Decimal(str(i.get("discount") or 0)) for i in items), Decimal(0))
    tax = Decimal(0) if taxes_included else sum((Decimal(str(i.get("tax") or 0)) for i in items), Decimal(0))
    return [BookLine(kind, 1, amount, None, f"{label} ({what})")
            for kind, amount, label in (("discount", -discount, "Discounts"), ("tax", tax, "Taxes"))
            if amount]


def refund_beyond(refund_total: Decimal, booked: ReturnBooking) -> Decimal:
    """What a refund given with a return gives back beyond the return's value (its shipping, say; negative
    for a fee kept): the return's sales already book the goods' money, so only this is booked for it."""
    return (Decimal(refund_total) + booked.total).quantize(CENT)


# -- booking it in the ERP --------------------------------------------------------------------------------

class ReturnBooker:
    """Books one order's returns in the ERP. ``warehouses`` maps store location names to ERP warehouses."""

    def __init__(self, erp: TrytonClient, engine: Engine, store: str, order: dict[str, Any],
                 config: OrdersConfig, warehouses: Mapping[str, int]):
        self.erp, self.engine, self.store, self.order, self.config = erp, engine, store, order, config
        self.warehouses = warehouses
        self.sales = TrytonSales(erp)
        self._lines: dict[str, dict[str, Any]] | None = None
        self._products: dict[str, int] = {}

    def lines(self) -> dict[str, dict[str, Any]]:
        if self._lines is None:
            with self.engine.connect() as conn:
                rows = conn.execute(select(stg_order_line).where(
                    stg_order_line.c.store == self.store,
                    stg_order_line.c.store_order_id == self.order["store_order_id"])).mappings().all()
                self._lines = {row["store_line_id"]: dict(row) for row in rows}
                self._products = product_ids_by_sku(conn, {row["sku"] for row in rows if row["sku"]})
        return self._lines

    def booking(self, ret: Mapping[str, Any]) -> ReturnBooking:
        return booking(ret, self.lines(), taxes_included=bool(self.order.get("taxes_included")))

    def book(self, ret: Mapping[str, Any]) -> tuple[int | None, int | None]:
        """Book the return (and its exchange): their ERP sales, created once, quoted and confirmed."""
        plan = self.booking(ret)
        order_id, name = self.order["store_order_id"], self.order["order_name"]
        missing = sorted(line.line_id for line in (*plan.returned, *plan.exchanged) if line.kind == "goods"
                         and self._products.get((self.lines().get(line.line_id) or {}).get("sku")) is None)
        if missing:
            raise ReturnNotPossibleYet(
                f"line(s) {', '.join(missing)} of return {ret['return_id']} are not staged with a product "
                "the ERP has: the next read of the order, or the product's creation, brings them")
        (main,) = self.erp.model("sale.sale", "read", [self.order["erp_sale_id"]],
                                 ["party", "invoice_address", "shipment_address", "warehouse"])
        services = self._services({line.kind for line in (*plan.returned, *plan.exchanged)} - {"goods"})
        products = {line.line_id: self._products[self.lines()[line.line_id]["sku"]]
                    for line in (*plan.returned, *plan.exchanged) if line.kind == "goods"}
        units = self.sales.units([*products.values(), *services.values()])
        when = dt.date.fromisoformat(str(ret["happened_at"])[:10])

        def product(line: BookLine) -> int:
            return products[line.line_id] if line.kind == "goods" else services[line.kind]

        def draft(key: str, book: tuple[BookLine, ...], warehouse: int | None, what: str) -> SaleDraft:
            return SaleDraft(
                web_id=key, party_id=main["party"], invoice_address_id=main["invoice_address"],
                shipment_address_id=main["shipment_address"], warehouse_id=warehouse, sale_date=when,
                reference=f"{name} {what}",
                comment=f"{what.capitalize()} of return {ret['return_id']} of store order {name}",
                lines=tuple(SaleLineDraft(product(line), Decimal(line.units), line.amount,
                                          units[product(line)], line.label) for line in book))

        drafts = []
        if plan.returned:
            drafts.append(draft(return_key(order_id, ret["return_id"]), plan.returned,
                                self.warehouses.get(plan.location or "", main["warehouse"]), "return"))
        if plan.exchanged:
            drafts.append(draft(exchange_key(order_id, ret["return_id"]), plan.exchanged, main["warehouse"],
                                "exchange"))
        outcomes = self.erp.create_sales(drafts)
        refused = [f"{d.web_id}: {o.error}" for d, o in zip(drafts, outcomes, strict=True) if not o.sale_id]
        if refused:
            raise ReturnNotPossibleYet(f"the ERP refused the sale(s) of return {ret['return_id']}: "
                                       + "; ".join(refused))
        ids = [o.sale_id for o in outcomes]
        unconfirmed = self.erp.quote_sales(ids)
        unconfirmed.update(self.erp.confirm_sales([i for i in ids if i not in unconfirmed]))
        if unconfirmed:  # they exist (found again, never doubled, on the retry): confirming them is due
            raise ReturnNotPossibleYet("; ".join(
                f"sale {sale_id} of return {ret['return_id']} not confirmed: {why}"
                for sale_id, why in unconfirmed.items()))
        by_key = dict(zip((d.web_id for d in drafts), ids, strict=True))
        return (by_key.get(return_key(order_id, ret["return_id"])),
                by_key.get(exchange_key(order_id, ret["return_id"])))

    def _services(self, kinds: set[str]) -> dict[str, int]:
        codes = {kind: self.config.service_codes[kind] for kind in sorted(kinds)}
        found = self.sales.products_by_code(codes.values())
        if missing := sorted(code for code in codes.values() if code not in found):
            raise ReturnNotPossibleYet(f"the service product(s) {', '.join(missing)} are not in the ERP: "
                                       "create them, or set their codes in the Variable erpsync_orders")
        return {kind: found[code] for kind, code in codes.items()}
