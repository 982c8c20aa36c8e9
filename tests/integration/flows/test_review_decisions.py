"""What a person decides on held work is what the flows do (the decisions as DAG review_held records them,
here without Airflow, on both warehouse engines): an approved price goes out exactly as approved, a
rejected one never does and is not asked about again, until the ERP asks for another value; a retried
given-up row is released. Expected prices are read from the ERP here, not computed by the product."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.sync.state import reviews
from erpsync.warehouse.schema import row_error
from tests.support.erp import swing_price, web_shop_price

pytestmark = pytest.mark.erp


def prices(shop, skus) -> dict[str, Decimal]:
    return {v.sku: v.price for page in shop.iter_variants(skus=skus) for v in page}


def decide(warehouse, items, decision: str) -> int:
    with warehouse.begin() as conn:
        return reviews.record(conn, items, decision=decision, decided_by="ops", review_run_id="manual__test",
                              now=dt.datetime.now(dt.UTC))


def held(warehouse) -> list[reviews.Item]:
    with warehouse.connect() as conn:
        return reviews.held_awaiting(conn)


def test_an_approved_price_goes_out_as_approved_and_a_rejected_one_stays_out_until_the_erp_changes(
        catalog_steps, admin, shop, warehouse, request):
    catalog_steps.run(full=True)
    approved, wanted = swing_price(admin, 80)
    request.addfinalizer(lambda: admin.model("product.template", "write", [approved["id"]],
                                             {"list_price": approved["list_price"]}))
    rejected, refused = swing_price(admin, 90)
    request.addfinalizer(lambda: admin.model("product.template", "write", [rejected["id"]],
                                             {"list_price": rejected["list_price"]}))
    before = prices(shop, [*wanted, *refused])

    result = catalog_steps.run()
    assert result["publish_prices"].held and prices(shop, [*wanted, *refused]) == before
    items = held(warehouse)
    assert sorted((i.record_key, i.subject, i.detail["from"]) for i in items) == sorted(
        [(sku, str(price), str(before[sku])) for sku, price in {**wanted, **refused}.items()])

    decide(warehouse, [i for i in items if i.record_key in wanted], reviews.APPROVED)
    decide(warehouse, [i for i in items if i.record_key in refused], reviews.REJECTED)
    assert held(warehouse) == [], "decided: nobody is asked again"
    for _ in range(2):  # the approved prices go out once; the rejected ones never
        catalog_steps.run()
        assert prices(shop, [*wanted, *refused]) == {**wanted, **{sku: before[sku] for sku in refused}}
    with warehouse.connect() as conn:
        open_rows = dict(conn.execute(select(row_error.c.record_key, row_error.c.error_kind)
                                      .where(row_error.c.status == "open")).all())
    assert open_rows == {sku: "HeldByGuardrail" for sku in refused}
    assert held(warehouse) == [], "still held as rejected: nobody is asked again"

    # The ERP asks for yet another price: a new question, and the old rejection lets nothing through.
    admin.model("product.template", "write", [rejected["id"]], {"list_price": rejected["list_price"] * 4})
    again = {sku: web_shop_price(admin, sku) for sku in refused}
    catalog_steps.run()
    assert prices(shop, list(refused)) == {sku: before[sku] for sku in refused}
    assert sorted((i.record_key, i.subject) for i in held(warehouse)) == sorted((s, str(p)) for s, p in again.items())


def test_a_given_up_row_is_asked_about_once_and_a_retry_releases_it(warehouse):
    now = dt.datetime.now(dt.UTC)
    rows = [{"flow": "orders", "entity": "order", "record_key": f"gid://shopify/Order/{n}", "operation": "create_sale",
             "status": "given_up", "error_kind": "SaleRefused", "error_message": "country ZZ is not in the ERP",
             "attempts": 12, "first_failed_at": now - dt.timedelta(hours=6), "last_failed_at": now}
            for n in (1, 2)]
    with warehouse.begin() as conn:
        conn.execute(row_error.insert(), rows)
        waiting = reviews.given_up_awaiting(conn)
    assert sorted(i.record_key for i in waiting) == ["gid://shopify/Order/1", "gid://shopify/Order/2"]
    assert decide(warehouse, [waiting[0]], reviews.RETRY) == 1
    assert decide(warehouse, [waiting[1]], reviews.LEAVE) == 1
    with warehouse.begin() as conn:
        assert reviews.given_up_awaiting(conn) == []
        statuses = dict(conn.execute(select(row_error.c.record_key, row_error.c.status)).all())
        assert statuses == {waiting[0].record_key: "open", waiting[1].record_key: "given_up"}
        # It fails again and gives up again: a new question about it.
        later = now + dt.timedelta(hours=1)
        conn.execute(row_error.update().where(row_error.c.record_key == waiting[0].record_key)
                     .values(status="given_up", last_failed_at=later))
        assert [(i.record_key, i.subject) for i in reviews.given_up_awaiting(conn)] == [
            (waiting[0].record_key, later.isoformat())]
