"""Write the demo data set (catalog.py) into an activated Tryton database.

Runs inside the ERP environment (.venv-erp: trytond, its modules and proteus), started by the stdlib-only
control code as ``TRYTOND_CONFIG=FILE .venv-erp/bin/python -m sandbox.tryton.seed --database NAME ...``.
The configuration must come from TRYTOND_CONFIG: trytond picks its database backend when it is first
imported, before any argument could be parsed. The seed works in-process through trytond's Pool and
Transaction, so the server need not (and should not) run.

Company, chart of accounts and fiscal years go through proteus and the helpers shipped in the modules'
wheels (they drive the same wizards a person would); everything else is bulk-created through the Pool,
in batches: saving hundreds of records one by one through proteus takes minutes instead of seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from PIL import Image, ImageDraw
from proteus import Model
from proteus import config as proteus_config
from trytond.modules.account.tests.tools import create_chart, create_fiscalyear
from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences
from trytond.modules.company.tests.tools import create_company, get_company
from trytond.pool import Pool
from trytond.transaction import Transaction

from sandbox.tryton import catalog

# Stock was received over the last weeks, not all on one day, so stock.move dates look like real history.
RECEIPT_WINDOW_DAYS = 60
# Validation builds one SQL expression over all records of a call: with several hundred records it exceeds
# Python's recursion limit (and SQLite's parser stack), so large creates go in batches.
TEMPLATES_PER_CALL = 25
MOVES_PER_CALL = 100


class SeededVariant(NamedTuple):
    product: object  # product.product record
    stock: tuple[int, int]  # quantities to receive in (WH, WH2)
    active: bool  # False when the variant or its template is archived


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--integration-password-file", required=True, type=Path)
    args = parser.parse_args(argv)
    password = args.integration_password_file.read_text().strip()
    summary = seed(os.environ["TRYTOND_CONFIG"], args.database, password)
    json.dump(summary, sys.stdout, sort_keys=True)
    print()
    return 0


def seed(config_file: str, database: str, integration_password: str) -> dict:
    proteus_config.set_trytond(database=database, config_file=config_file)
    company_id = _setup_accounting()
    with Transaction().start(database, 0, context={"company": company_id, "language": "en"}) as transaction:
        summary = _seed_records(company_id, integration_password)
        transaction.commit()
    return summary


def _setup_accounting() -> int:
    """Company (USD), chart of accounts and fiscal years for last, this and next calendar year.

    The years around today keep a snapshot usable for a while: sales and invoices need an open period.
    """
    Party = Model.get("party.party")
    company_party = Party(name=catalog.COMPANY_NAME)
    company_party.save()
    create_company(party=company_party, currency="USD")
    company = get_company()
    create_chart(company)
    this_year = dt.date.today().year
    for year in (this_year - 1, this_year, this_year + 1):
        fiscalyear = set_fiscalyear_invoice_sequences(
            create_fiscalyear(company, today=(dt.date(year, 1, 1), dt.date(year, 12, 31))))
        fiscalyear.save()
        fiscalyear.click("create_period")
    return company.id


def _seed_records(company_id: int, integration_password: str) -> dict:
    pool = Pool()
    company = pool.get("company.company")(company_id)
    country, states = _create_country()
    _set_company_address(company, country, states)
    departments = _create_product_categories()
    account_category = _create_account_category(company)
    variants = _create_catalog(departments, account_category)
    _create_service_products(account_category)
    warehouses = _create_second_warehouse()
    _receive_stock(company, variants, warehouses)
    customers = _create_customers(country, states)
    price_list = _create_price_list(company, departments)
    guest = pool.get("party.party").create([{"name": catalog.GUEST_PARTY_NAME}])[0]
    shop, vendure_shop = _create_web_shops(company, warehouses, price_list, guest, variants)
    user = _create_integration_user(company, integration_password)
    return {
        "company": company.id, "integration_user": user.id, "web_shop": shop.id,
        "vendure_web_shop": vendure_shop.id, "price_list": price_list.id,
        "warehouses": {w.code: w.id for w in warehouses}, "customers": len(customers),
        "variants": len(variants), "active_variants": sum(1 for v in variants if v.active),
    }


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _model_id(module: str, xml_id: str) -> int:
    return Pool().get("ir.model.data").get_id(module, xml_id)


def _create_country():
    """The countries orders ship to and their subdivisions; returns the United States and its states.

    The country module ships no countries (trytond_import_countries downloads them).
    """
    pool = Pool()
    Country = pool.get("country.country")
    Subdivision = pool.get("country.subdivision")
    countries = Country.create([{"name": name, "code": code, "code3": code3, "code_numeric": numeric}
                                for code, code3, numeric, name, _ in catalog.COUNTRIES])
    us = next(c for c in countries if c.code == "US")
    names = dict((code, name) for code, name, *_ in catalog.CITIES)
    records = Subdivision.create([{"country": us.id, "name": name, "code": f"US-{code}", "type": "state"}
                                  for code, name in sorted(names.items())])
    Subdivision.create([{"country": country.id, "name": name, "code": f"{country.code}-{code}", "type": "province"}
                        for country, (*_, subdivisions) in zip(countries, catalog.COUNTRIES, strict=True)
                        for code, name in subdivisions])
    return us, {s.code.removeprefix("US-"): s for s in records}


def _set_company_address(company, country, states) -> None:
    Address = Pool().get("party.address")
    Address.create([{"party": company.party.id, "street": "100 Harbor Way", "city": "Seattle",
                     "postal_code": "98104", "country": country.id, "subdivision": states["WA"].id}])


def _create_product_categories() -> dict[str, object]:
    """Departments with their categories; returns every category by name (departments included)."""
    Category = Pool().get("product.category")
    by_name = {}
    for department, children in catalog.categories().items():
        parent, = Category.create([{"name": department}])
        by_name[department] = parent
        for child in Category.create([{"name": name, "parent": parent.id} for name in children]):
            by_name[child.name] = child
    return by_name


def _create_account_category(company):
    # Sales need revenue/expense accounts from the product's account category to reach "processing".
    Category = Pool().get("product.category")
    accounts = _accounts_by_kind(company)
    category, = Category.create([{
        "name": "Merchandise", "accounting": True,
        "account_revenue": accounts["revenue"].id, "account_expense": accounts["expense"].id}])
    return category


def _accounts_by_kind(company) -> dict:
    Account = Pool().get("account.account")
    result = {}
    for kind in ("revenue", "expense"):
        result[kind], = Account.search([(f"type.{kind}", "=", True), ("company", "=", company.id),
                                        ("closed", "!=", True)], limit=1)
    return result


def _create_catalog(categories, account_category) -> list[SeededVariant]:
    """Templates with their variants, images and archived records."""
    pool = Pool()
    Template = pool.get("product.template")
    unit = _model_id("product", "uom_unit")
    entries = catalog.templates()
    values = [_template_values(t, categories, account_category, unit) for t in entries]
    templates = [t for chunk in _chunks(values, TEMPLATES_PER_CALL) for t in Template.create(chunk)]
    _create_images(templates, entries)
    return _archive(templates, entries)


def _template_values(entry: catalog.Template, categories, account_category, unit: int) -> dict:
    variants = [{
        "suffix_code": v.suffix, "description": v.description, "list_price": v.list_price,
        "cost_price": v.cost_price} for v in entry.variants]
    return {
        "name": entry.name, "code": entry.code, "type": "goods", "default_uom": unit,
        "salable": True, "sale_uom": unit, "list_price": entry.list_price, "cost_price_method": "fixed",
        "account_category": account_category.id,
        "categories": [("add", [categories[entry.category].id])],
        "products": [("create", variants)],
    }


def _create_service_products(account_category) -> None:
    """What orders book besides goods (shipping, taxes, discounts, refund adjustments): services, not
    stocked, not in the web shop's catalog."""
    Template = Pool().get("product.template")
    unit = _model_id("product", "uom_unit")
    Template.create([{
        "name": name, "code": code, "type": "service", "salable": True, "default_uom": unit, "sale_uom": unit,
        "list_price": Decimal(0), "cost_price_method": "fixed", "account_category": account_category.id,
        "products": [("create", [{}])],
    } for code, name in catalog.SERVICE_PRODUCTS.values()])


def _create_images(templates, entries) -> None:
    ProductImage = Pool().get("product.image")
    ProductImage.create([{"template": template.id, "image": _png(entry.image_rgb), "description": entry.name}
                  for template, entry in zip(templates, entries, strict=True) if entry.image_rgb])


def _png(rgb: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (64, 64), rgb)
    ImageDraw.Draw(image).ellipse((16, 16, 48, 48), fill=tuple(255 - c for c in rgb))
    data = io.BytesIO()
    image.save(data, format="PNG")
    return data.getvalue()


def _archive(templates, entries) -> list[SeededVariant]:
    pool = Pool()
    Template = pool.get("product.template")
    Product = pool.get("product.product")
    seeded = []
    for template, entry in zip(templates, entries, strict=True):
        variants = sorted(template.products, key=lambda p: p.id)
        seeded.extend(SeededVariant(product, spec.stock, entry.active and spec.active)
                      for product, spec in zip(variants, entry.variants, strict=True))
    Product.write([s.product for s in seeded if not s.active], {"active": False})
    Template.write([t for t, e in zip(templates, entries, strict=True) if not e.active], {"active": False})
    return seeded


def _create_second_warehouse() -> list:
    """Rename the default warehouse (code WH) and add WH2 with its own zones.

    A warehouse needs input/output/storage locations, and a lost-and-found location for inventories.
    Locations are ordered by name and a web shop's default warehouse is its first one: the main
    warehouse's name must sort before the second's.
    """
    Location = Pool().get("stock.location")
    main = Location(_model_id("stock", "location_warehouse"))
    Location.write([main], {"name": catalog.MAIN_WAREHOUSE_NAME})
    zones = Location.create([
        {"name": "East Input Zone", "code": "IN2", "type": "storage"},
        {"name": "East Output Zone", "code": "OUT2", "type": "storage"},
        {"name": "East Storage Zone", "code": "STO2", "type": "storage"},
        {"name": "East Lost and Found", "type": "lost_found"},
    ])
    second, = Location.create([{
        **catalog.SECOND_WAREHOUSE, "type": "warehouse",
        "input_location": zones[0].id, "output_location": zones[1].id,
        "storage_location": zones[2].id, "lost_found_location": zones[3].id}])
    return [main, second]


def _receive_stock(company, variants: list[SeededVariant], warehouses) -> None:
    """Done moves from the supplier location into each warehouse's storage zone."""
    Move = Pool().get("stock.move")
    supplier = _model_id("stock", "location_supplier")
    today = dt.date.today()
    values = []
    for index, (product, quantities, _active) in enumerate(variants):
        for warehouse, quantity in zip(warehouses, quantities, strict=True):
            if not quantity:
                continue
            values.append({
                "product": product.id, "unit": product.default_uom.id, "quantity": quantity,
                "from_location": supplier, "to_location": warehouse.storage_location.id,
                "unit_price": product.cost_price, "currency": company.currency.id, "company": company.id,
                "planned_date": today - dt.timedelta(days=index % RECEIPT_WINDOW_DAYS),
                "effective_date": today - dt.timedelta(days=index % RECEIPT_WINDOW_DAYS)})
    for chunk in _chunks(values, MOVES_PER_CALL):
        Move.do(Move.create(chunk))


def _create_customers(country, states) -> list:
    Party = Pool().get("party.party")
    return Party.create([{
        "name": c.name,
        "addresses": [("create", [{
            "street": c.street, "city": c.city, "postal_code": c.postal_code,
            "country": country.id, "subdivision": states[c.state_code].id}])],
        "contact_mechanisms": [("create", [
            {"type": "email", "value": c.email}, {"type": "phone", "value": c.phone}])],
    } for c in catalog.customers()])


def _create_price_list(company, categories):
    """One category at a discount; the fallback line keeps every other product at its list price.

    A price list returns no price for a product that no line matches, hence the explicit fallback.
    """
    PriceList = Pool().get("product.price_list")
    price_list, = PriceList.create([{
        "name": catalog.PRICE_LIST_NAME, "company": company.id, "price": "list_price",
        "lines": [("create", [
            {"category": categories[catalog.DISCOUNTED_CATEGORY].id,
             "formula": f"(unit_price * Decimal('{catalog.DISCOUNT_FACTOR}')).quantize(Decimal('0.01'))"},
            {"formula": "unit_price"},
        ])],
    }])
    return price_list


def _create_web_shops(company, warehouses, price_list, guest, variants: list[SeededVariant]) -> list:
    """One web shop per store (catalog.WEB_SHOP_NAMES, ids in that order), all alike: a sale's web_id is
    unique per shop only, so each store's orders are sales of its own shop."""
    Shop = Pool().get("web.shop")
    return Shop.create([{
        "name": name, "company": company.id, "currency": company.currency.id,
        "warehouses": [("add", [w.id for w in warehouses])], "guest_party": guest.id,
        "sale_price_list": price_list.id,
        "products": [("add", [v.product.id for v in variants if v.active])],
    } for name in catalog.WEB_SHOP_NAMES])


def _create_integration_user(company, password: str):
    """The account the product connects with: the least that covers its needs.

    Products, price lists, locations, web shops and parties are readable (parties also writable) by every
    user; Sales (group_sale) adds sale create/quote/confirm/cancel and read access to moves, shipments and
    invoices; Stock and Accounting let it cancel the shipment and invoice of a confirmed sale the store
    cancelled (Tryton cancels a confirmed sale that way); Sale Amendment lets it change a confirmed sale's
    lines when the store's order is edited. The company must be the user's current company:
    sale_price_list asserts it when computing prices.
    """
    User = Pool().get("res.user")
    user, = User.create([{
        "name": "Integration (erpsync)", "login": catalog.INTEGRATION_LOGIN, "password": password,
        "email": "integration@example.com",
        "groups": [("add", [_model_id("sale", "group_sale"), _model_id("stock", "group_stock"),
                            _model_id("account", "group_account"),
                            _model_id("sale_amendment", "group_sale_amendment")])],
        "companies": [("add", [company.id])], "company": company.id,
    }])
    return user


if __name__ == "__main__":
    sys.exit(main())
