"""Grow a built sandbox ERP into a large catalog for benchmarks: N more templates (2-4 variants each),
stocked in both warehouses and sold by every web shop, like the demo's own products.

Runs inside the ERP environment, in-process like seed.py (the server must not run):
``TRYTOND_CONFIG=FILE .venv-erp/bin/python -m sandbox.tryton.bulk --database NAME --templates N``.

``--copies K`` instead makes K more copies of the templates grown (SQLite only): the same rows, written
with SQL in seconds where the ERP's own create and stock moves take about 25 ms per variant, so that a
100,000-SKU catalog is ready in seconds instead of most of an hour. Copy k's codes start with ``R<k>`` in
place of ``B``; everything else (prices, categories, the web shops, the stock moves) is the original's.
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
    parser.add_argument("--templates", type=int)
    parser.add_argument("--copies", type=int)
    args = parser.parse_args(argv)
    if (args.templates is None) == (args.copies is None):
        parser.error("give --templates or --copies")
    proteus_config.set_trytond(database=args.database, config_file=os.environ["TRYTOND_CONFIG"])
    started = time.monotonic()
    with Transaction().start(args.database, 0, context={"language": "en"}) as transaction:
        (company,) = Pool().get("company.company").search([], limit=1)
        with transaction.set_context(company=company.id):
            summary = grow(company, args.templates) if args.templates else copy_grown(transaction, args.copies)
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
    shops = Shop.search([("name", "in", catalog.WEB_SHOP_NAMES)], order=[("id", "ASC")])
    if len(shops) != len(catalog.WEB_SHOP_NAMES):
        raise SystemExit(f"expected the web shops {catalog.WEB_SHOP_NAMES}, found {[s.name for s in shops]}: "
                         "rebuild the sandbox ERP")
    Shop.write(shops, {"products": [("add", [p.id for p in products])]})
    shop = shops[0]  # the shops share their warehouses
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


GROWN = "B[0-9][0-9][0-9][0-9][0-9]-*"  # the codes grow() gives (the demo's own may start with B too)
# What hangs off a template or a variant, copied with it: (table, the columns pointing at one).
TEMPLATE_ROWS = ("product_list_price", "product_cost_price_method", "product_template-product_category")
PRODUCT_ROWS = ("product_cost_price", "web_shop-product_product", "stock_move")


def copy_grown(transaction, copies: int) -> dict:
    from trytond import backend

    if backend.name != "sqlite":
        raise SystemExit("--copies writes SQL for SQLite only; grow a PostgreSQL ERP with --templates")
    cursor = transaction.connection.cursor()

    def ids(sql: str, *params) -> list[int]:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]

    def columns(table: str) -> list[str]:
        cursor.execute(f'PRAGMA table_info("{table}")')
        return [row[1] for row in cursor.fetchall()]

    templates = ids("SELECT id FROM product_template WHERE code GLOB ?", GROWN)
    if not templates:
        raise SystemExit("nothing to copy: grow the catalog with --templates first")
    cursor.execute("CREATE TEMP TABLE grown_template (id INTEGER PRIMARY KEY)")
    cursor.executemany("INSERT INTO grown_template VALUES (?)", [(t,) for t in templates])
    cursor.execute("CREATE TEMP TABLE grown_product AS SELECT id FROM product_product "
                   "WHERE template IN (SELECT id FROM grown_template)")
    counts = {"templates": 0, "variants": 0, "moves": 0}
    # Copies made before (a smaller catalog grown further) keep their codes: number on from them. The
    # grown codes have five digits, so R<k><digits> never collide across k.
    done = len(ids("SELECT id FROM product_template WHERE code GLOB ?", "R[0-9]*")) // len(templates)
    for copy in range(done + 1, done + copies + 1):
        # New ids: past every existing one, by a fixed offset per table for this copy.
        offsets = {table: ids(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')[0]
                   for table in ("product_template", "product_product", *TEMPLATE_ROWS, *PRODUCT_ROWS)}
        template_shift, product_shift = offsets["product_template"], offsets["product_product"]
        prefix = f"R{copy}"
        for table, where, renamed in (
            ("product_template", "id IN (SELECT id FROM grown_template)",
             {"code": f"'{prefix}' || substr(code, 2)", "name": f"name || ' ({prefix})'"}),
            ("product_product", "id IN (SELECT id FROM grown_product)",
             {"code": f"'{prefix}' || substr(code, 2)", "template": f"template + {template_shift}"}),
            *((t, "template IN (SELECT id FROM grown_template) AND product IS NULL"
               if "product" in columns(t) else "template IN (SELECT id FROM grown_template)",
               {"template": f"template + {template_shift}"}) for t in TEMPLATE_ROWS),
            *((t, "product IN (SELECT id FROM grown_product)", {"product": f"product + {product_shift}"})
              for t in PRODUCT_ROWS),
        ):
            names = columns(table)
            values = [f"id + {offsets[table]}" if n == "id" else renamed.get(n, f'"{n}"') for n in names]
            cursor.execute(f'INSERT INTO "{table}" ({", ".join(chr(34) + n + chr(34) for n in names)}) '
                           f'SELECT {", ".join(values)} FROM "{table}" WHERE {where}')
            key = {"product_template": "templates", "product_product": "variants", "stock_move": "moves"}.get(table)
            if key:
                counts[key] += cursor.rowcount
        print(f"copy {copy - done}/{copies}: {counts}", file=sys.stderr, flush=True)
    return counts


if __name__ == "__main__":
    sys.exit(main())
