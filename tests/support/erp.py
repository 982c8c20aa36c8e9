"""Changes a test makes in the sandbox ERP, as its users would (through the admin's JSON-RPC)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

from erpsync.tryton.client import TrytonClient
from sandbox.tryton import catalog

ERP_BATCH = 50


def sales_per_order(admin: TrytonClient, web_ids: Iterable[str]) -> Counter:
    """How many ERP sales each store order has (two would show as 2; none is absent)."""
    rows = admin.model("sale.sale", "search_read", [("web_id", "in", list(web_ids))], 0, None, None,
                       ["web_id"])
    return Counter(row["web_id"] for row in rows)


def receive(admin: TrytonClient, product_id: int, warehouse_id: int, quantity: Decimal) -> dt.datetime:
    """Receive stock into a warehouse's storage as a done move; return the move's timestamp."""
    return receive_many(admin, [product_id], warehouse_id, quantity)[0]


def receive_many(admin: TrytonClient, product_ids: list[int], warehouse_id: int, quantity: Decimal
                 ) -> list[dt.datetime]:
    """Receive ``quantity`` of each product into a warehouse's storage, as done moves (some 50 per call);
    return the moves' timestamps."""
    move_ids = receive_each(admin, dict.fromkeys(product_ids, quantity), warehouse_id)
    moves = admin.model("stock.move", "read", move_ids, ["last_modified_at"])
    stamps = {m["id"]: m["last_modified_at"] for m in moves}
    return [stamps[move_id] for move_id in move_ids]


def new_template(admin: TrytonClient, suffixes: list[str], list_price: Decimal, code: str | None = None
                 ) -> tuple[int, list[dict]]:
    """A new saleable template with one variant per suffix (its code is the template's code followed by
    the suffix), set up like the demo's (category, accounts) and, like the demo's, listed in every web
    shop of the sandbox (each store's); returns the template id and its variants (id, code)."""
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
    for web_shop in catalog.WEB_SHOP_NAMES:
        list_in_web_shop(admin, [v["id"] for v in variants], web_shop=web_shop)
    return template_id, variants


def receive_each(admin: TrytonClient, quantities: dict[int, Decimal], warehouse_id: int) -> list[int]:
    """Receive a quantity of its own of each product into a warehouse's storage, as done moves, some 50
    products per call; return the moves' ids, in the products' order."""
    (warehouse,) = admin.model("stock.location", "read", [warehouse_id], ["storage_location"])
    (supplier,) = admin.model("stock.location", "search", [("type", "=", "supplier")], 0, 1, None)
    products = list(quantities)
    units = {p["id"]: p["default_uom"] for p in admin.model("product.product", "read", products, ["default_uom"])}
    move_ids: list[int] = []
    for start in range(0, len(products), ERP_BATCH):
        created = admin.model("stock.move", "create", [{
            "product": product, "unit": units[product], "quantity": float(quantities[product]),
            "from_location": supplier, "to_location": warehouse["storage_location"], "unit_price": Decimal("10"),
            "currency": admin.web_shop.currency_id, "company": admin.web_shop.company_id,
        } for product in products[start:start + ERP_BATCH]])
        admin.model("stock.move", "do", created)
        move_ids.extend(created)
    return move_ids


def available(admin: TrytonClient, product_ids: list[int], warehouse_id: int) -> dict[int, int]:
    """What the ERP says each product can still sell from a warehouse: on hand and not promised
    (min of quantity and forecast), floored at 0, read with the ERP's own stock context."""
    rows = admin.model("product.product", "read", product_ids, ["quantity", "forecast_quantity"],
                       context={"locations": [warehouse_id]})
    return {row["id"]: max(0, int(min(row["quantity"], row["forecast_quantity"]))) for row in rows}


def list_in_web_shop(admin: TrytonClient, product_ids: list[int], listed: bool = True, *,
                     web_shop: str | None = None) -> None:
    """Put variants on the web shop's (``admin``'s, or the one named) assortment, or take them off it, as
    its managers do."""
    shop = admin.other_web_shop(web_shop) if web_shop else admin.web_shop
    for start in range(0, len(product_ids), ERP_BATCH):
        admin.model("web.shop", "write", [shop.id], {"products": [
            ("add" if listed else "remove", product_ids[start:start + ERP_BATCH])]})


def delete_template(admin: TrytonClient, template_id: int) -> None:
    """Take a template a test made (never sold nor stocked) off the web shops and out of the ERP."""
    variants = admin.model("product.product", "search", [("template", "=", template_id)], 0, None, None)
    for web_shop in catalog.WEB_SHOP_NAMES:
        list_in_web_shop(admin, variants, listed=False, web_shop=web_shop)
    admin.model("product.template", "delete", [template_id])


def erp_id(admin: TrytonClient, sku: str) -> int:
    (product,) = admin.model("product.product", "search", [("code", "=", sku)], 0, 1, None)
    return product


def web_shop_price(admin: TrytonClient, sku: str) -> Decimal:
    """The price the ERP asks of the web shop's customers (its price list), read from the ERP itself."""
    shop = admin.web_shop
    (row,) = admin.model("product.product", "read", [erp_id(admin, sku)], ["sale_price_uom"],
                         context={"company": shop.company_id, "price_list": shop.sale_price_list_id})
    return Decimal(str(row["sale_price_uom"])).quantize(Decimal("0.01"))


def swing_price(admin: TrytonClient, offset: int, factor: int = 3) -> tuple[dict, dict[str, Decimal]]:
    """Multiply by ``factor`` the list price of the first salable template from ``offset`` whose variants all
    take it: returns the template as it was (to put it back) and each variant's web-shop price now."""
    for template in admin.model("product.template", "search_read", [("active", "=", True), ("salable", "=", True)],
                                offset, 40, [("id", "ASC")], ["list_price", "products"]):
        variants = admin.model("product.product", "read", template["products"], ["code", "list_price"])
        if all(v["list_price"] in (None, template["list_price"]) for v in variants):  # None: the template's
            admin.model("product.template", "write", [template["id"]],
                        {"list_price": (template["list_price"] * factor).quantize(Decimal("0.01"))})
            return template, {v["code"]: web_shop_price(admin, v["code"]) for v in variants}
    raise AssertionError(f"no salable template from offset {offset} whose variants all take its list price")


def last_sale_id(admin: TrytonClient) -> int:
    """The newest ERP sale's id (0: none): what a test books comes after it."""
    found = admin.model("sale.sale", "search", [], 0, 1, [("id", "DESC")])
    return found[0] if found else 0


def sales_of(admin: TrytonClient, web_id: str, after_id: int = 0) -> list[dict]:
    """Every ERP sale with this external id created after sale ``after_id``, whatever its web shop (a list:
    two sales for one order must show as two). ``after_id`` keeps out the sales of other tests of the
    session whose stores number their orders alike (each Vendure server starts at 1)."""
    return admin.model("sale.sale", "search_read", [("web_id", "=", web_id), ("id", ">", after_id)], 0, None,
                       [("id", "ASC")], ["id", "web_id", "total_amount", "state", "web_shop.name"])
