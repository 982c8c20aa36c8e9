"""The independent audit (tests/support/audit.py) against the real ERP and the store emulator: silent on a
pair the product has synced, and it finds each kind of defect made on purpose, each exactly once."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from erpsync.store.records import InventoryChange
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.schema import order_ledger
from sandbox.airflow_local import wait_for
from sandbox.tryton import catalog
from tests.integration.flows.test_order_steps import past_last_write, place
from tests.support.audit import audit
from tests.support.erp import list_in_web_shop
from tests.support.flows import CatalogSteps

pytestmark = pytest.mark.erp


def test_the_audit_is_silent_on_a_synced_pair_and_finds_each_defect_made_on_purpose(
        order_steps, target, store, shop, erp_settings, erp_admin, warehouse, request):
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    main = admin.web_shop.warehouses[0]
    location = next(loc.id for loc in shop.locations() if loc.name == main.name)
    variants = [v for page in shop.iter_variants() for v in page if v.product_status == "ACTIVE"]
    levels = {lvl.inventory_item_id: lvl.available
              for lvl in shop.inventory_levels([v.inventory_item_id for v in variants], [location])}
    siblings: dict[str, int] = {}
    for v in variants:
        siblings[v.product_id] = siblings.get(v.product_id, 0) + 1
    stocked = [v for v in variants if levels.get(v.inventory_item_id, 0) >= 5 and siblings[v.product_id] >= 2]
    by_product = {v.product_id: v for v in stocked}  # one variant per product: four different products
    sold, unbooked_sku, edited, unlisted = list(by_product.values())[:4]

    past_last_write(warehouse)  # no order in doubt (of the second of our last write): one run settles it all
    booked = place(store, [{"sku": sold.sku, "quantity": 1}], email=f"audit-{uuid.uuid4().hex[:6]}@example.com")
    order_steps.extract_and_stage()
    assert order_steps.book(run_id="audit").created == 1
    # The store follows the sale once the ERP's stock read is past the sale's confirmation (a read in the
    # same ERP second holds the order back once more, the safe side).
    with warehouse.connect() as conn:
        confirmed_at = conn.execute(select(order_ledger.c.erp_confirmed_at)).scalar_one()
    wait_for(lambda: dt.datetime.now(dt.UTC) > confirmed_at, timeout_s=10, what="the ERP's clock past the sale",
             interval_s=0.05)
    CatalogSteps(erp=erp_settings.client(), store=shop, engine=warehouse).run(full=True)

    clean = audit(target, passes=1, grace_s=0)
    assert clean.clean, clean.summary()
    assert clean.orders_in_store == 1 and clean.levels_checked >= len(variants)

    # One defect of each kind, made by hand.
    unbooked = place(store, [{"sku": unbooked_sku.sku, "quantity": 1}])  # an order the ERP never gets
    level = levels[edited.inventory_item_id]
    assert shop.set_inventory([InventoryChange(edited.inventory_item_id, location, level + 5, level)],
                              idempotency_key=f"audit-{uuid.uuid4().hex}")[0].applied  # stock added in the store
    (sale,) = admin.model("sale.sale", "search", [("web_id", "=", booked["id"])], 0, None, None)
    (copy,) = admin.model("sale.sale", "copy", [sale], {"web_id": None, "reference": booked["name"]})
    request.addfinalizer(lambda: admin.model("sale.sale", "delete", [copy]))  # booked again, by hand
    (unlisted_id,) = admin.model("product.product", "search", [("code", "=", unlisted.sku)], 0, 1, None)
    list_in_web_shop(admin, [unlisted_id], listed=False)  # the web shop stops selling it
    request.addfinalizer(lambda: list_in_web_shop(admin, [unlisted_id]))

    found = audit(target, passes=2, settle_s=1, grace_s=0)
    assert found.orders_missing == [unbooked["name"]], found.summary()
    assert found.orders_booked_twice == [booked["name"]]
    assert [(lvl["sku"], lvl["location"], lvl["store"] - lvl["desired"]) for lvl in found.levels_off] == [
        (edited.sku, main.name, 5)]
    assert found.outside_assortment == [unlisted.sku]
    assert found.missing_in_store == []
