"""Grow a built sandbox ERP into a large catalog for benchmarks: N more templates (2-4 variants each),
stocked in both warehouses and sold by the web shop, like the demo's own products.

Runs inside the ERP environment, in-process like seed.py (the server must not run):
``TRYTOND_CONFIG=FILE .venv-erp/bin/python -m sandbox.tryton.bulk --database NAME --templates N``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from decimal import Decimal

from proteus import config as proteus_config
from trytond.pool import Pool
from trytond.transaction import Transaction

from sandbox.tryton import catalog
from sandbox.tryton.seed import MOVES_PER_CALL, TEMPLATES_PER_CALL, _chunks, _model_id

BULK_SEED = catalog.SEED + 99


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--templates", type=int, required=True)
    args = parser.parse_args(argv)
    proteus_config.set_trytond(database=args.database, config_file=os.environ["TRYTOND_CONFIG"])
    started = time.monotonic()
    with Transaction().start(args.database, 0, context={"language": "en"}) as transaction:
        (company,) = Pool().get("company.company").search([], limit=1)
        with transaction.set_context(company=company.id):
            summary = grow(company, args.templates)
        transaction.commit()
    summary["seconds"] = round(time.monotonic() - started, 1)
    json.dump(summary, sys.stdout)
    print()
    return 0


def grow(company, count: int) -> dict:
    pool = Pool()
    Template = pool.get("product.template")
    Move = pool.get("stock.move")
    Shop = pool.get("web.shop")
    Category = pool.get("product.category")
    rng = random.Random(BULK_SEED)
    unit = _model_id("product", "uom_unit")
    (account_category,) = Category.search([("accounting", "=", True)], limit=1)
    categories = {c.name: c.id for c in Category.search([("accounting", "=", False)])}
    first = Template.search_count([("code", "like", "B%")]) + 1
    values = []
    for offset in range(count):
        number = first + offset
        code, noun, _department, category, axis, (low, high), materials, _pitch = \
            catalog.FAMILIES[number % len(catalog.FAMILIES)]
        _label, options = catalog.AXES[axis]
        size = 2 + number % 3
        start = rng.randint(0, len(options) - size)
        list_price = catalog._price(rng, low, high)
        values.append({
            "name": f"{rng.choice(catalog.ADJECTIVES)} {rng.choice(materials)} {noun} {number}",
            "code": f"B{number:05d}-{code}", "type": "goods", "default_uom": unit, "salable": True,
            "sale_uom": unit, "list_price": list_price, "cost_price_method": "fixed",
            "account_category": account_category.id, "categories": [("add", [categories[category]])],
            "products": [("create", [
                {"suffix_code": f"-{suffix}", "description": f"{noun} {number}, {label}",
                 "cost_price": (list_price * Decimal("0.45")).quantize(Decimal("0.01"))}
                for suffix, label, _delta in options[start:start + size]
            ])],
        })
    templates = [t for chunk in _chunks(values, TEMPLATES_PER_CALL) for t in Template.create(chunk)]
    products = [p for t in templates for p in t.products]
    (shop,) = Shop.search([("name", "=", catalog.WEB_SHOP_NAME)])
    Shop.write([shop], {"products": [("add", [p.id for p in products])]})
    supplier = _model_id("stock", "location_supplier")
    today = dt.date.today()
    moves = [
        {"product": p.id, "unit": unit, "quantity": quantity, "from_location": supplier,
         "to_location": warehouse.storage_location.id, "unit_price": p.cost_price, "currency": company.currency.id,
         "company": company.id, "planned_date": today, "effective_date": today}
        for p in products for warehouse, quantity in zip(shop.warehouses, catalog._stock(rng), strict=True)
        if quantity
    ]
    for chunk in _chunks(moves, MOVES_PER_CALL):
        Move.do(Move.create(chunk))
    return {"templates": len(templates), "variants": len(products), "moves": len(moves)}


if __name__ == "__main__":
    sys.exit(main())
