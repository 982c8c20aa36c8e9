"""The order flow's steps with Vendure as the store (a real, stock Vendure server seeded from the ERP's
catalog), the real ERP and both warehouse engines: the flows speak to the store interface only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.schema import order_ledger
from sandbox.vendure.shopper import Guest, cancel_order, guest_checkout
from sandbox.tryton import catalog
from tests.sandbox.conftest_vendure import *  # noqa: F403 - the `vendure` and `erp_seeded` fixtures
from tests.sandbox.conftest_vendure import product_store
from tests.support.clock import next_second
from tests.support.erp import last_sale_id, sales_of
from tests.support.flows import CatalogSteps, OrderSteps

pytestmark = [pytest.mark.erp, pytest.mark.vendure]

GUEST = Guest("Liam", "Nguyen", "liam@example.com", "2 Side St", "Shelbyville", "54321", "", "US")


@pytest.fixture
def vendure_store(erp_seeded):
    return product_store(erp_seeded)


def _in_stock(store, count: int) -> list:
    variants = [v for page in store.iter_variants() for v in page if v.product_status == "ACTIVE"]
    locations = [loc.id for loc in store.locations()]
    levels: dict[str, int] = {}
    for level in store.inventory_levels([v.inventory_item_id for v in variants], locations):
        levels[level.inventory_item_id] = levels.get(level.inventory_item_id, 0) + level.available
    return [v for v in variants if levels.get(v.inventory_item_id, 0) >= 5][:count]


def test_a_vendure_order_is_booked_once_and_its_cancellation_follows(vendure_store, erp_seeded, erp_settings, erp_admin,
                                                                    warehouse):
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    before = last_sale_id(admin)
    CatalogSteps(erp=erp_settings.client(), store=vendure_store, engine=warehouse).extract_and_stage(full=True)
    steps = OrderSteps(erp=erp_settings.client(), store=vendure_store, engine=warehouse)
    first, second = _in_stock(vendure_store, 2)
    placed = guest_checkout(erp_seeded.shop(), [(first.variant_id, 2), (second.variant_id, 1)], GUEST)
    expected_total = (2 * first.price + second.price + Decimal("5.99"))  # 0% tax, flat shipping (seed.py)
    next_second()  # the run's window ends after the order's whole second

    booked = steps.run()
    assert (booked["ingest"].created, booked["ingest"].confirmed) == (1, 1)
    sales = sales_of(admin, placed["id"], before)
    assert len(sales) == 1 and Decimal(str(sales[0]["total_amount"])) == expected_total, sales

    again = steps.run()
    assert again["ingest"].created == 0
    assert len(sales_of(admin, placed["id"], before)) == 1, "once, whatever the reruns"

    cancel_order(erp_seeded.admin(), placed["id"])
    next_second()
    followed = steps.run()
    assert followed["changes"].cancellations == 1
    with warehouse.connect() as conn:
        states = conn.execute(select(order_ledger.c.store, order_ledger.c.state).where(
            order_ledger.c.store_order_id == placed["id"])).all()
    assert [tuple(row) for row in states] == [("vendure-outlet", "cancelled")]
    (sale,) = sales_of(admin, placed["id"], before)
    (shipments,) = admin.model("sale.sale", "read", [sale["id"]], ["shipments.state"])
    assert {s["state"] for s in shipments["shipments."]} == {"cancelled"}, "the cancelled order ships nothing"
    assert dt.datetime.now(dt.UTC) > booked["extracted"].window_end


def test_the_catalog_publishes_to_vendure_and_a_second_run_sends_nothing(erp_seeded, erp_settings, tmp_path):
    """The whole catalog flow into a Vendure erp_seeded from the ERP (as a merchant's existing shop): its
    variants are found by SKU and adopted, content and prices made the ERP's, and a second run sends
    nothing. One engine: the flow's warehouse code is the same on both (the order test runs both)."""
    from erpsync.warehouse.engine import make_engine
    from erpsync.warehouse.migrate import upgrade_url

    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    upgrade_url(url)
    engine = make_engine(url)
    store = product_store(erp_seeded, requests_per_second=50)
    steps = CatalogSteps(erp=erp_settings.client(), store=store, engine=engine)
    publish = ("publish_content", "publish_prices", "publish_inventory")
    first = steps.run(full=True)
    assert [first[step].failed for step in publish] == [0, 0, 0], {step: first[step].as_counts() for step in publish}
    assert first["publish_content"].discovered > 0 and first["publish_content"].applied > 0

    wanted = {p.sku: p.sale_price for page in erp_settings.client().iter_changed_products(None) for p in page
              if p.active and p.salable}
    in_store = [v for page in store.iter_variants() for v in page]
    assert sorted(v.sku for v in in_store) == sorted(wanted), "one variant per salable ERP product, none twice"
    assert [(v.sku, v.price) for v in in_store if v.price != wanted[v.sku]] == [], "every price the ERP's"

    second = steps.run()
    assert [second[step].applied for step in publish] == [0, 0, 0]
    engine.dispose()
