"""Housekeeping on a booked order, against the real ERP, the store emulator and both warehouse engines:
a month later its customer and addresses are gone from the warehouse, and a refund the store makes after
that still becomes its one return in the ERP; the refunded version, read again with its data, is purged
again a month after it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from erpsync.sync.housekeeping.policy import RetentionConfig
from erpsync.sync.housekeeping.purge import purge
from erpsync.warehouse.schema import raw_record, stg_order
from tests.integration.flows.test_order_steps import in_stock, number, place

pytestmark = pytest.mark.erp


def staged(engine, order_id: str) -> tuple[str, bool]:
    with engine.connect() as conn:
        customer, address, purged = conn.execute(
            select(stg_order.c.customer, stg_order.c.shipping_address, stg_order.c.personal_data_purged_at)
            .where(stg_order.c.store_order_id == order_id)).one()
    return json.dumps([customer, address]), purged is not None


def test_a_booked_orders_personal_data_goes_a_month_later_and_its_refund_still_follows(order_steps, store, shop,
                                                                                      admin, warehouse):
    sku = in_stock(shop, 1)[0]
    order = place(store, [{"sku": sku, "quantity": 2}], email="zoe.hart@example.com", first_name="Zoe",
                  last_name="Hart")
    assert order_steps.run()["ingest"].created == 1
    text, purged = staged(warehouse, order["id"])
    assert "zoe.hart@example.com" in text and "Hart" in text and not purged

    month_later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    counts = purge(warehouse, RetentionConfig(), as_of=month_later, now=month_later).as_counts()
    assert counts["staged_orders_purged"] == 1 and counts["raw_deleted"] >= 1
    text, purged = staged(warehouse, order["id"])
    assert "zoe.hart@example.com" not in text and "Hart" not in text and purged
    with warehouse.connect() as conn:
        assert "zoe.hart" not in json.dumps([p for (p,) in conn.execute(select(raw_record.c.payload))])

    store.admin("POST", f"/orders/{number(order)}/refund", {"lines": [{"sku": sku, "quantity": 1, "restock": True}]})
    after = order_steps.run()
    assert after["ingest"].created == 0 and after["changes"].refunds == 1
    sales = admin.model("sale.sale", "search_read", [("web_id", "=", order["id"])], 0, None, None, ["id"])
    returns = admin.model("sale.sale", "search_read", [("web_id", "like", f"{order['id']}#refund:%")], 0, None, None,
                          ["id"])
    assert (len(sales), len(returns)) == (1, 1), "booked once, its refund once"
    text, purged = staged(warehouse, order["id"])
    assert "zoe.hart@example.com" in text and not purged, "the version read again carries its data again"
    assert purge(warehouse, RetentionConfig(), as_of=month_later, now=month_later).staged_orders_purged == 1
    assert purge(warehouse, RetentionConfig(), as_of=month_later, now=month_later).staged_orders_purged == 0
