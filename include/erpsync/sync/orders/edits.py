"""Apply the store's edits of booked orders to their ERP sales, each edit once (see ``edit_plan``).

Each edit is a row of ``order_adjustment`` (kind ``edit``, keyed by the store's edit id). Its effects in
the ERP carry the same key, so that a run killed half way finds them on its retry instead of doing them
again: the edit's own sale has ``web_id`` "<order id>#edit:<edit id>", an amendment has it as its
description. An edit the ERP can never follow (goods already picked or shipped) is recorded as not
possible, with the reason, for the data team; one it cannot follow yet (the sale is not confirmed, the
ERP lacks ``sale_amendment``) waits in the error queue.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import Engine, select

from erpsync.sync.orders import edit_plan
from erpsync.sync.orders.config import OrdersConfig
from erpsync.sync.orders.ingest import product_ids_by_sku
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.records import SaleDraft, SaleLineDraft
from erpsync.tryton.sales import TrytonSales
from erpsync.warehouse.schema import stg_order_line

log = logging.getLogger(__name__)

AMENDMENT_MODEL = "sale.amendment"


class EditNotPossibleYet(Exception):
    """The edit cannot be applied until something changes in the ERP (the message says what)."""


def edit_key(order_id: str, edit_id: str) -> str:
    return f"{order_id}#edit:{edit_id}"


class EditApplier:
    """Applies one order's edits in the order they happened. ``record(kind_ref, state, detail, sale_id)``
    writes the adjustment; ``applied`` maps an edit id already done to its ERP sale id (or None)."""

    def __init__(self, erp: TrytonClient, engine: Engine, store: str, order: dict[str, Any],
                 applied: dict[str, int | None], record: Callable[[str, str, str, int | None], None],
                 config: OrdersConfig):
        self.erp, self.engine, self.store, self.order, self.config = erp, engine, store, order, config
        self.sales = TrytonSales(erp)
        self.applied = applied
        self.record = record
        # Staged in the order they happened (the store's); two in one second keep it (a stable sort: their
        # ids as text would put ".../10" before ".../9").
        self.edits = sorted(order["edits"] or (), key=lambda e: e["happened_at"])
        self.homes = edit_plan.homes(self.edits)
        self._lines: dict[str, dict[str, Any]] | None = None
        self._products: dict[str, int] = {}
        self._amendments: bool | None = None

    def apply(self) -> tuple[int, list[str]]:
        """Apply the edits not applied yet; return how many were applied and why others were not possible."""
        done, impossible = 0, []
        for edit in self.edits:
            if edit["edit_id"] in self.applied:
                continue
            reason, sale_id = self._apply(edit)
            state = "applied" if reason is None else "not_possible"
            self.record(edit["edit_id"], state, reason or "applied", sale_id)
            self.applied[edit["edit_id"]] = sale_id
            if reason is None:
                done += 1
            else:
                impossible.append(f"{self.order['order_name']} edit {edit['edit_id']}: {reason}")
                log.warning("edit %s of %s cannot be applied in the ERP: %s", edit["edit_id"],
                            self.order["order_name"], reason)
        return done, impossible

    # -- one edit ----------------------------------------------------------------------------------

    def _apply(self, edit: dict[str, Any]) -> tuple[str | None, int | None]:
        plan = edit_plan.plan(edit, self.homes)
        key = edit_key(self.order["store_order_id"], edit["edit_id"])
        sales = {}
        for home in plan.changes:
            sale_id = self._sale_of(home)
            if sale_id is None:
                return f"the edit that added its line ({home}) was not applied", None
            sales[home] = sale_id
        main = self._read(self.order["erp_sale_id"])
        read = {home: self._read(sale_id) for home, sale_id in sales.items()}
        for home, sale in read.items():
            if sale["state"] in ("draft", "quotation", "confirmed"):
                raise EditNotPossibleYet(f"ERP sale {sale['id']} is {sale['state']}: an edit is applied once "
                                         "it is processing")
            if reason := edit_plan.why_not(sale["state"], [s["state"] for s in sale.get("shipments.") or ()]):
                return reason, None
        targets = {}
        for home, sale in read.items():
            if self._amendment(sale["id"], key)[0]:
                continue  # validated before a run was killed: the sale already follows the edit
            erp_lines = self._erp_lines(home, sale)
            current = {line_id: line["quantity"] for line_id, line in erp_lines.items()}
            new, reason = edit_plan.amended(current, plan.changes[home])
            if reason:
                return reason, None
            targets[home] = (sale, erp_lines, new)
        if targets and not self._has_amendments():
            raise EditNotPossibleYet("the ERP cannot change a confirmed sale's lines: activate Tryton's "
                                     "sale_amendment module")
        sale_id = self._book_own_sale(edit, plan, main, key) if plan.own_sale else None
        when = dt.date.fromisoformat(str(edit["happened_at"])[:10])
        for sale, erp_lines, new in targets.values():
            self._amend(sale["id"], key, when, {erp_lines[line_id]["id"]: (erp_lines[line_id], quantity)
                                                for line_id, quantity in new.items()})
        return None, sale_id

    def _sale_of(self, home: str) -> int | None:
        return self.order["erp_sale_id"] if home == edit_plan.MAIN else self.applied.get(home)

    def _read(self, sale_id: int) -> dict[str, Any]:
        (sale,) = self.erp.model("sale.sale", "read", [sale_id], [
            "state", "party", "invoice_address", "shipment_address", "warehouse", "shipments.state",
            "lines.type", "lines.product", "lines.quantity", "lines.unit", "lines.unit_price",
            "lines.description"])
        return sale

    def _store_lines(self) -> dict[str, dict[str, Any]]:
        if self._lines is None:
            with self.engine.connect() as conn:
                rows = conn.execute(select(stg_order_line).where(
                    stg_order_line.c.store == self.store,
                    stg_order_line.c.store_order_id == self.order["store_order_id"])
                    .order_by(stg_order_line.c.store_line_id)).mappings().all()
                self._lines = {row["store_line_id"]: dict(row) for row in rows}
                self._products = product_ids_by_sku(conn, {row["sku"] for row in rows if row["sku"]})
        return self._lines

    def _erp_lines(self, home: str, sale: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The ERP line of each store line the sale holds: the store's lines of that home, in line id
        order, matched to the sale's lines of the same product in the order they were created."""
        lines = self._store_lines()
        by_product: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for erp_line in sorted(sale.get("lines.") or (), key=lambda line: line["id"]):
            if erp_line["type"] == "line" and erp_line["product"] is not None:
                by_product[erp_line["product"]].append(erp_line)
        found = {}
        for line_id, line in lines.items():
            product = self._products.get(line["sku"])
            if self.homes.get(line_id, edit_plan.MAIN) == home and by_product.get(product):
                found[line_id] = by_product[product].pop(0)
        return found

    def _book_own_sale(self, edit: dict[str, Any], plan: edit_plan.EditPlan, main: dict[str, Any],
                       key: str) -> int:
        """The edit's own sale: the lines it put on the order, in line id order (as ``_erp_lines`` reads
        them back), and what it moves of the order's discounts and taxes; confirmed; found again
        (``web_id``), never doubled, on a retry."""
        lines = self._store_lines()
        new_lines = sorted(plan.new_lines)
        missing = [line_id for line_id, _ in new_lines
                   if line_id not in lines or self._products.get(lines[line_id]["sku"]) is None]
        if missing:
            raise EditNotPossibleYet(f"line(s) {', '.join(missing)} added by the edit are not staged with a "
                                     "product the ERP has: the next read of the order, or the product's "
                                     "creation, brings them")
        products = [self._products[lines[line_id]["sku"]] for line_id, _ in new_lines]
        tax = Decimal(0) if self.order.get("taxes_included") else plan.tax  # included: in the prices
        money = [(kind, amount, label) for kind, amount, label in (
            ("discount", -plan.discount, "Discounts"), ("tax", tax, "Taxes")) if amount]
        services = self._services([kind for kind, _, _ in money])
        units = self.sales.units([*products, *services.values()])
        draft = SaleDraft(
            web_id=key, party_id=main["party"], invoice_address_id=main["invoice_address"],
            shipment_address_id=main["shipment_address"], warehouse_id=main["warehouse"],
            sale_date=dt.date.fromisoformat(str(edit["happened_at"])[:10]),
            reference=f"{self.order['order_name']} edit", comment=f"Edit {edit['edit_id']} of store order "
                                                                  f"{self.order['order_name']}",
            lines=tuple(SaleLineDraft(product, Decimal(quantity), Decimal(lines[line_id]["unit_price"]),
                                      units[product], lines[line_id]["title"])
                        for (line_id, quantity), product in zip(new_lines, products, strict=True))
            + tuple(SaleLineDraft(services[kind], Decimal(1), amount, units[services[kind]],
                                  f"{label} (edit)") for kind, amount, label in money),
        )
        (outcome,) = self.erp.create_sales([draft])
        if not outcome.sale_id:
            raise EditNotPossibleYet(f"the sale of the edit was refused by the ERP: {outcome.error}")
        refused = self.erp.quote_sales([outcome.sale_id])
        refused.update(self.erp.confirm_sales([outcome.sale_id]) if not refused else {})
        if refused:
            raise EditNotPossibleYet(f"the sale of the edit ({outcome.sale_id}) was not confirmed: "
                                     f"{refused[outcome.sale_id]}")
        return outcome.sale_id

    def _services(self, kinds: list[str]) -> dict[str, int]:
        codes = {kind: self.config.service_codes[kind] for kind in kinds}
        found = self.sales.products_by_code(codes.values())
        if missing := sorted(code for code in codes.values() if code not in found):
            raise EditNotPossibleYet(f"the service product(s) {', '.join(missing)} are not in the ERP: "
                                     "create them, or set their codes in the Variable erpsync_orders "
                                     "(discount_product, tax_product)")
        return {kind: found[code] for kind, code in codes.items()}

    def _has_amendments(self) -> bool:
        if self._amendments is None:
            self._amendments = bool(self.erp.model("ir.model", "search", [("name", "=", AMENDMENT_MODEL)],
                                                   0, 1, None))
        return self._amendments

    def _amendment(self, sale_id: int, key: str) -> tuple[bool, int | None]:
        """Whether the sale has a validated amendment with the edit's key, else the id of a draft one."""
        if not self._has_amendments():
            return False, None
        found = self.erp.model(AMENDMENT_MODEL, "search_read",
                               [("sale", "=", sale_id), ("description", "=", key)], 0, None, None, ["state"])
        if any(a["state"] == "validated" for a in found):
            return True, None
        return False, found[0]["id"] if found else None

    def _amend(self, sale_id: int, key: str, when: dt.date,
               lines: dict[int, tuple[dict[str, Any], float]]) -> None:
        """Change the sale's lines to the given quantities through one amendment carrying the edit's key,
        unless an amendment with that key is already validated (then the sale already follows the edit)."""
        validated, amendment_id = self._amendment(sale_id, key)
        if validated:
            return
        if amendment_id is None:
            (amendment_id,) = self.erp.model(AMENDMENT_MODEL, "create", [{
                "sale": sale_id, "date": when, "description": key,
                "lines": [("create", [{
                    "action": "line", "line": erp_line["id"], "product": erp_line["product"],
                    "quantity": float(quantity), "unit": erp_line["unit"],
                    "unit_price": erp_line["unit_price"], "description": erp_line["description"],
                } for erp_line, quantity in lines.values()])],
            }])
        self.erp.model(AMENDMENT_MODEL, "validate_amendment", [amendment_id])
