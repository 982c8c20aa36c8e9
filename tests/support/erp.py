"""Changes a test makes in the sandbox ERP, as its users would (through the admin's JSON-RPC)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from erpsync.tryton.client import TrytonClient

ERP_BATCH = 50


def receive(admin: TrytonClient, product_id: int, warehouse_id: int, quantity: Decimal) -> dt.datetime:
    """Receive stock into a warehouse's storage as a done move; return the move's timestamp."""
    return receive_many(admin, [product_id], warehouse_id, quantity)[0]


def receive_many(admin: TrytonClient, product_ids: list[int], warehouse_id: int, quantity: Decimal
                 ) -> list[dt.datetime]:
    """Receive ``quantity`` of each product into a warehouse's storage, as done moves made in one call
    (and done in one more); return the moves' timestamps."""
    (warehouse,) = admin.model("stock.location", "read", [warehouse_id], ["storage_location"])
    (supplier,) = admin.model("stock.location", "search", [("type", "=", "supplier")], 0, 1, None)
    products = admin.model("product.product", "read", product_ids, ["default_uom"])
    units = {p["id"]: p["default_uom"] for p in products}
    move_ids = admin.model("stock.move", "create", [{
        "product": product_id, "unit": units[product_id], "quantity": float(quantity),
        "from_location": supplier, "to_location": warehouse["storage_location"],
        "unit_price": Decimal("10"), "currency": admin.web_shop.currency_id,
        "company": admin.web_shop.company_id,
    } for product_id in product_ids])
    admin.model("stock.move", "do", move_ids)
    moves = admin.model("stock.move", "read", move_ids, ["last_modified_at"])
    stamps = {m["id"]: m["last_modified_at"] for m in moves}
    return [stamps[move_id] for move_id in move_ids]


def new_template(admin: TrytonClient, suffixes: list[str], list_price: Decimal, code: str | None = None
                 ) -> tuple[int, list[dict]]:
    """A new saleable template with one variant per suffix (its code is the template's code followed by
    the suffix), set up like the demo's (category, accounts); returns the template id and its variants
    (id, code)."""
    (model,) = admin.model("product.template", "search_read", [("salable", "=", True)], 0, 1, None,
                           ["default_uom", "sale_uom", "account_category", "categories"])
    code = code or f"NEW-{uuid.uuid4().hex[:6].upper()}"
    # The ERP takes some 50 records per call (100 overflow its parser on SQLite): the first variants come
    # with the template, the others in calls of their own.
    (template_id,) = admin.model("product.template", "create", [{
        "name": f"New arrival {code}", "code": code, "type": "goods", "salable": True,
        "default_uom": model["default_uom"], "sale_uom": model["sale_uom"], "list_price": list_price,
        "cost_price_method": "fixed", "account_category": model["account_category"],
        "categories": [("add", model["categories"])],
        "products": [("create", [{"suffix_code": s, "description": f"{code} {s}"} for s in suffixes[:ERP_BATCH]])],
    }])
    for start in range(ERP_BATCH, len(suffixes), ERP_BATCH):
        admin.model("product.product", "create", [{"template": template_id, "suffix_code": s,
                                                   "description": f"{code} {s}"}
                                                  for s in suffixes[start:start + ERP_BATCH]])
    variants = admin.model("product.product", "search_read", [("template", "=", template_id)], 0, None,
                           [("id", "ASC")], ["code"])
    for start in range(0, len(variants), ERP_BATCH):
        admin.model("web.shop", "write", [admin.web_shop.id], {"products": [
            ("add", [v["id"] for v in variants[start:start + ERP_BATCH]])]})
    return template_id, variants
