"""A product the store refuses never holds the rest of the catalog back (issue "Every row for itself",
item 2): it is held alone in the error queue with the store's reason, and the same run publishes the
other products, their prices and their stock."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.warehouse.schema import quarantine, row_error
from tests.support.erp import delete_template, erp_id, list_in_web_shop, new_template, receive, web_shop_price

pytestmark = pytest.mark.erp

# Variants per product this integration publishes (its productSet reads them back in one page): a template
# with more is refused, like one with more than the store's own limit (2,048).
VARIANT_LIMIT = 100


def test_a_product_the_store_refuses_is_held_alone_while_prices_and_stock_go_out(catalog_steps, admin, store, shop,
                                                                                  warehouse, request):
    catalog_steps.run(full=True)
    variants = [v for page in shop.iter_variants() for v in page if v.product_status == "ACTIVE"]
    # A variant with a list price of its own does not follow its template's (the ERP's XL sizes cost more).
    repriced = next(v for v in variants if _takes_templates_price(admin, v.sku))
    restocked = next(v for v in variants if v.product_id != repriced.product_id)
    main = admin.web_shop.warehouses[0]

    # The ERP gains a template with more variants than can be published, a new price and new stock.
    template_id, too_many = new_template(admin, [f"-{i:04d}" for i in range(VARIANT_LIMIT + 1)], Decimal("12.00"))
    # The ERP serves the whole test session: the refused template must not follow the other tests around.
    request.addfinalizer(lambda: delete_template(admin, template_id))
    (product,) = admin.model("product.product", "read", [erp_id(admin, repriced.sku)], ["template"])
    (template,) = admin.model("product.template", "read", [product["template"]], ["list_price"])
    admin.model("product.template", "write", [template["id"]], {"list_price": template["list_price"] + 10})
    new_price = web_shop_price(admin, repriced.sku)
    assert _store_price(store, repriced.sku) != new_price
    receive(admin, erp_id(admin, restocked.sku), main.id, Decimal(7))
    before = store.admin("GET", f"/inventory?sku={restocked.sku}")["levels"][main.name]["available"]

    # One run: the refused product is its only content change, and still no step raises (a failed step
    # would fail its task, and its Airflow retries would hold the flow back for nothing).
    result = catalog_steps.run()

    content = result["publish_content"]
    assert (content.applied, content.failed, content.unreachable) == (0, 1, 0), content
    assert result["publish_prices"].applied >= 1 and result["publish_inventory"].applied >= 1
    assert _store_price(store, repriced.sku) == new_price
    assert store.admin("GET", f"/inventory?sku={restocked.sku}")["levels"][main.name]["available"] == before + 7
    with warehouse.connect() as conn:
        errors = conn.execute(select(row_error.c.record_key, row_error.c.error_kind, row_error.c.error_message)
                              .where(row_error.c.status == "open")).all()
    assert Counter(kind for _, kind, _ in errors) == Counter({"ProductSetRefused": VARIANT_LIMIT + 1})
    assert {key for key, _, _ in errors} == {v["code"] for v in too_many}
    assert all(f"{VARIANT_LIMIT + 1} variants: more than" in message for _, _, message in errors), errors[0]


def _takes_templates_price(admin, sku: str) -> bool:
    (product,) = admin.model("product.product", "read", [erp_id(admin, sku)], ["list_price", "template"])
    (template,) = admin.model("product.template", "read", [product["template"]], ["list_price"])
    return product["list_price"] in (None, template["list_price"])


def _store_price(store, sku: str) -> Decimal:
    (variant,) = [v for v in store.admin("GET", f"/products?sku={sku}")["variants"] if v["sku"] == sku]
    return Decimal(variant["price"]).quantize(Decimal("0.01"))


def test_a_quarantined_product_then_withdrawn_from_sale_leaves_quarantine_and_the_store(catalog_steps, admin, shop,
                                                                                        warehouse, request):
    """Withdrawn at the source (taken off the web shop; archived or made not salable are the same rule), a
    product the store must not sell needs only its identity right: it is staged, its quarantine released
    (its alert resolves) and the store stops selling it. (Tryton refuses to archive a product that has
    stock, so the test takes it off the web shop.)"""
    catalog_steps.run(full=True)
    (template,) = admin.model("product.template", "search_read", [("active", "=", True), ("salable", "=", True)],
                              25, 1, [("id", "ASC")], ["list_price", "products"])
    skus = sorted(p["code"] for p in admin.model("product.product", "read", template["products"], ["code"]))
    assert {v.product_status for page in shop.iter_variants(skus=skus) for v in page} == {"ACTIVE"}
    request.addfinalizer(lambda: admin.model("product.template", "write", [template["id"]], {
        "list_price": template["list_price"]}))
    request.addfinalizer(lambda: list_in_web_shop(admin, template["products"]))

    admin.model("product.template", "write", [template["id"]], {"list_price": Decimal(0)})
    catalog_steps.run()
    assert _open_quarantine(warehouse) == skus

    list_in_web_shop(admin, template["products"], listed=False)
    withdrawn = catalog_steps.run()

    assert withdrawn["staged_products"].released == len(skus)
    assert _open_quarantine(warehouse) == []
    assert {v.product_status for page in shop.iter_variants(skus=skus) for v in page} == {"ARCHIVED"}


def _open_quarantine(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(quarantine.c.record_key).where(
            quarantine.c.status == "open", quarantine.c.entity == "product")).scalars())
