"""The order flow's steps with Vendure as the store (a real, stock Vendure server seeded from the ERP's
catalog), the real ERP and both warehouse engines: the flows speak to the store interface only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.schema import order_ledger
from sandbox.vendure.shopper import Guest, cancel_order, guest_checkout, modify_order
from sandbox.tryton import catalog
from tests.sandbox.conftest_vendure import *  # noqa: F403 - the `vendure` and `erp_seeded` fixtures
from tests.sandbox.conftest_vendure import product_store
from tests.support.clock import next_second
from tests.integration.flows.test_order_edits import goods
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


def _with_edits(admin: TrytonClient, order_id: str, after_id: int) -> list[dict]:
    """The order's ERP sales, its own and its edits', made after sale ``after_id``, oldest first."""
    domain = [("id", ">", after_id),
              ["OR", ("web_id", "=", order_id), ("web_id", "like", f"{order_id}#edit:%")]]
    return admin.model("sale.sale", "search_read", domain, 0, None, [("id", "ASC")],
                       ["id", "web_id", "state", "lines", "total_amount"])


def test_a_vendure_order_modification_is_followed_by_the_erp_once(vendure_store, erp_seeded, erp_settings,
                                                                 erp_admin, warehouse):
    """A merchant lowers a line and adds another to a booked order (Vendure's modifyOrder): the order's
    sale loses the units, the new line is the edit's own sale, and a second run books nothing again. The
    price falls (the dearest line lowered, the cheapest added): the refund Vendure gives with the
    modification is the edit's, not booked again as a refund."""
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    before = last_sale_id(admin)
    catalog_steps = CatalogSteps(erp=erp_settings.client(), store=vendure_store, engine=warehouse)
    catalog_steps.extract_and_stage(full=True)
    steps = OrderSteps(erp=erp_settings.client(), store=vendure_store, engine=warehouse)
    first, second, third = sorted(_in_stock(vendure_store, 3), key=lambda v: v.price, reverse=True)
    assert first.price > third.price, "the seeded catalog has prices that differ"
    placed = guest_checkout(erp_seeded.shop(), [(first.variant_id, 3), (second.variant_id, 1)], GUEST)
    next_second()
    assert steps.run()["ingest"].created == 1
    (main,) = _with_edits(admin, placed["id"], before)
    assert goods(admin, main) == {first.sku: 3, second.sku: 1}

    lines = {line["productVariant"]["id"]: line["id"] for line in placed["lines"]}
    modification = modify_order(erp_seeded.admin(), placed["id"], adjust={lines[first.variant_id]: 1},
                                add=[(third.variant_id, 2)])
    next_second()
    assert modification["refund"] is not None and modification["priceChange"] < 0
    followed, again = steps.run()["changes"], steps.run()["changes"]
    assert (followed.edits, followed.edits_impossible, again.edits) == (1, 0, 0)
    assert (followed.refunds, again.refunds) == (0, 0), "the modification's refund is the edit's"
    assert sales_of(admin, f"{placed['id']}#refund:{modification['refund']['id']}", before) == []

    sales = _with_edits(admin, placed["id"], before)
    assert [s["web_id"] for s in sales] == [placed["id"], f"{placed['id']}#edit:{modification['id']}"]
    assert goods(admin, sales[0]) == {first.sku: 1, second.sku: 1}, "the order's sale follows: 3 down to 1"
    assert goods(admin, sales[1]) == {third.sku: 2}, "the added line is the edit's own sale"
    # 0% tax, flat shipping (seed.py): what Vendure's order totals now, worked out from the prices.
    now_total = first.price + second.price + 2 * third.price + Decimal("5.99")
    assert sum((Decimal(str(s["total_amount"])) for s in sales), Decimal(0)) == now_total
    node = erp_seeded.admin().data("query($id: ID!) { order(id: $id) { totalWithTax lines { quantity "
                                   "productVariant { sku } } } }", {"id": placed["id"]})["order"]
    assert Decimal(node["totalWithTax"]) / 100 == now_total
    current = {line["productVariant"]["sku"]: line["quantity"] for line in node["lines"] if line["quantity"]}
    erp_goods: dict[str, float] = {}
    for sale in sales:
        for sku, units in goods(admin, sale).items():
            erp_goods[sku] = erp_goods.get(sku, 0) + units
    assert erp_goods == current, "the ERP's goods are Vendure's current lines"
    assert len(_with_edits(admin, placed["id"], before)) == 2, "nothing booked twice"


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


def test_a_vendure_order_the_erp_ships_in_two_parts_is_fulfilled_in_two_parts(vendure_store, erp_seeded, erp_settings,
                                                                              erp_admin, warehouse):
    """The ERP's warehouse ships one of two units, then the rest (Tryton's new shipment): Vendure gets a
    fulfillment of exactly that unit with its tracking code (the order PartiallyShipped), then one of the
    other, once each whatever the reruns."""
    from sandbox.tryton.shipper import ship as ship_shipments, ship_part

    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    before = last_sale_id(admin)
    CatalogSteps(erp=erp_settings.client(), store=vendure_store, engine=warehouse).extract_and_stage(full=True)
    steps = OrderSteps(erp=erp_settings.client(), store=vendure_store, engine=warehouse)
    (variant,) = _in_stock(vendure_store, 1)
    placed = guest_checkout(erp_seeded.shop(), [(variant.variant_id, 2)], GUEST)
    next_second()
    steps.run()
    (sale,) = sales_of(admin, placed["id"], before)
    (shipment,) = admin.model("sale.sale", "read", [sale["id"]], ["shipments"])[0]["shipments"]
    admin.model("stock.shipment.out", "write", [shipment], {"reference": "VPART-1"})
    ship_part(admin, shipment, {variant.sku: 1})

    def fulfillments() -> list[tuple[str, list[int]]]:
        node = erp_seeded.admin().data(
            "query($id: ID!) { order(id: $id) { state fulfillments { state trackingCode lines { quantity } } } }",
            {"id": placed["id"]})["order"]
        return node["state"], [(f["trackingCode"], [line["quantity"] for line in f["lines"]], f["state"])
                               for f in node["fulfillments"]]

    once, again = steps.fulfill(), steps.fulfill()
    assert (once.partly, once.fulfillments, again.fulfillments) == (1, 1, 0)
    assert fulfillments() == ("PartiallyShipped", [("VPART-1", [1], "Shipped")])

    (rest,) = [s for s in admin.model("sale.sale", "read", [sale["id"]], ["shipments"])[0]["shipments"]
               if s != shipment]
    admin.model("stock.shipment.out", "write", [rest], {"reference": "VPART-2"})
    ship_shipments(admin, [rest])
    once, again = steps.fulfill(), steps.fulfill()
    assert (once.fulfilled, once.fulfillments, again.fulfillments) == (1, 1, 0)
    state, made = fulfillments()
    assert (state, sorted(made)) == ("Shipped", [("VPART-1", [1], "Shipped"), ("VPART-2", [1], "Shipped")])
    with warehouse.connect() as conn:
        assert conn.execute(select(order_ledger.c.state).where(
            order_ledger.c.store_order_id == placed["id"])).scalar_one() == "fulfilled"


def test_customers_both_ways_with_vendure_each_once(vendure_store, erp_seeded, erp_settings, erp_admin,
                                                   warehouse):
    """The optional customers flow with Vendure: an ERP party becomes a Vendure customer, a Vendure customer
    an ERP party, each once however often it runs; a party with a phone only is skipped with the reason
    (Vendure's customers need an e-mail), not failed."""
    import uuid

    from erpsync.sync.customers.run import sync_customers
    from erpsync.warehouse import db
    from erpsync.warehouse.schema import customer_link, row_error

    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    tag, lag = uuid.uuid4().hex[:8], dt.timedelta(seconds=5)
    start = next_second().replace(microsecond=0)  # Vendure stamps whole seconds, rounded down
    with warehouse.begin() as conn:  # this test's records only (the ERP and Vendure are shared)
        for source in ("erp", "store"):
            db.advance_cursor(conn, source, "customer", start + lag, run_id="setup", now=start,
                              store=vendure_store.name)
    mia = admin.model("party.party", "create", [{"name": "Mia Erp", "contact_mechanisms": [
        ("create", [{"type": "email", "value": f"Mia.{tag}@example.com"}])]}])[0]
    admin.model("party.party", "create", [{"name": "Ned Phone", "contact_mechanisms": [
        ("create", [{"type": "phone", "value": f"+1512{uuid.uuid4().int % 10**7:07d}"}])]}])
    made = erp_seeded.admin().data(
        "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { ... on Customer { id } } }",
        {"input": {"emailAddress": f"ola.{tag}@example.com", "firstName": "Ola", "lastName": "Vendure"}})
    ola = made["createCustomer"]["id"]

    def vendure_customers(email: str) -> list[str]:
        found = erp_seeded.admin().data(
            "query($email: String) { customers(options: {filter: {emailAddress: {eq: $email}}}) "
            "{ items { id } } }",
            {"email": email})
        return [c["id"] for c in found["customers"]["items"]]

    def parties(email: str) -> list[int]:
        rows = admin.model("party.contact_mechanism", "search_read", [("value", "=", email)], 0, None,
                           [("id", "ASC")], ["party"])
        return [row["party"] for row in rows]

    def run(run_id: str):
        return sync_customers(erp_settings.client(), vendure_store, warehouse, direction="both",
                              window_end=next_second(), run_id=run_id, now=dt.datetime.now(dt.UTC),
                              lag=lag)

    first = run("run-1")
    assert (first.to_store.created, first.to_store.skipped, first.to_store.failed) == (1, 1, 0)
    assert (first.to_erp.created, first.to_erp.matched) == (1, 0)
    assert len(vendure_customers(f"mia.{tag}@example.com")) == 1
    assert len(parties(f"ola.{tag}@example.com")) == 1

    again = run("run-2")
    made = (again.to_store.created, again.to_erp.created, again.to_store.matched, again.to_erp.matched)
    assert made == (0, 0, 0, 0)
    assert len(vendure_customers(f"mia.{tag}@example.com")) == 1
    assert len(parties(f"ola.{tag}@example.com")) == 1
    with warehouse.connect() as conn:
        links = conn.execute(select(customer_link.c.customer_id, customer_link.c.party_id,
                                    customer_link.c.origin)).all()
        errors = conn.execute(select(row_error.c.record_key).where(row_error.c.flow == "customers")).all()
    assert sorted((party, origin) for _, party, origin in links) == sorted(
        [(mia, "erp"), (parties(f"ola.{tag}@example.com")[0], "store")])
    assert [customer for customer, _, origin in links if origin == "store"] == [ola]
    assert errors == []
