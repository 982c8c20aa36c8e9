"""WAITING returns (erpsync.alerts.rules.check_returns_waiting) on a real warehouse: a return the store
processed but did not settle (goods not disposed of, return not closed) is alerted per store once it has
waited longer than the threshold by the store's own clock, with order numbers and no customer data; the
alert clears when the return is settled. Settled returns and young ones never alert."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from erpsync.alerts.book import AlertBook
from erpsync.alerts.rules import check_returns_waiting
from erpsync.warehouse.schema import stg_order
from tests.integration.warehouse.test_not_applied_alert import hours, order


def ret(return_id: str, processed: dt.datetime, *, settled: bool) -> dict:
    return {"return_id": f"gid://shopify/Return/{return_id}", "happened_at": processed.isoformat(),
            "returned": [], "exchanged": [], "settled": settled}


def test_a_return_not_settled_after_the_threshold_alerts_once_per_store_and_clears_when_settled(warehouse):
    sent: list[tuple[str, str]] = []

    def send(subject: str, text: str) -> list[str]:
        sent.append((subject, text))
        return ["slack"]

    with warehouse.begin() as conn:
        conn.execute(stg_order.insert(), [
            {**order("shop-a", 1), "returns": [ret("11", hours(0), settled=False), ret("12", hours(0), settled=True)]},
            {**order("shop-a", 2), "returns": [ret("21", hours(60), settled=False)]},  # younger
            {**order("shop-b", 3), "returns": [ret("31", hours(0), settled=True)]},
            {**order("shop-b", 4), "returns": []},
        ])
    book = AlertBook(warehouse, send)
    assert check_returns_waiting(book, warehouse, after_hours=72, now=hours(71)) == {}
    assert sent == []

    assert check_returns_waiting(book, warehouse, after_hours=72, now=hours(73)) == {"shop-a": 1}
    assert [subject for subject, _ in sent] == ["[erpsync] WAITING returns in shop-a: 1 return(s) not settled after 72 h"]
    assert "#1001 return gid://shopify/Return/11: processed" in sent[0][1]
    assert "ava@example.com" not in sent[0][1]
    assert check_returns_waiting(book, warehouse, after_hours=72, now=hours(74)) == {"shop-a": 1}
    assert len(sent) == 1, "the same problem is not sent twice"

    # The first is disposed of in the store (staged again, settled); the second has waited long enough.
    with warehouse.begin() as conn:
        conn.execute(update(stg_order).where(stg_order.c.store_order_id == "gid://shopify/Order/1").values(
            returns=[ret("11", hours(0), settled=True), ret("12", hours(0), settled=True)]))
    assert check_returns_waiting(book, warehouse, after_hours=72, now=hours(133)) == {"shop-a": 1}
    assert "#1002 return gid://shopify/Return/21" in sent[-1][1]
    with warehouse.begin() as conn:
        conn.execute(update(stg_order).where(stg_order.c.store_order_id == "gid://shopify/Order/2").values(
            returns=[ret("21", hours(60), settled=True)]))
    assert check_returns_waiting(book, warehouse, after_hours=72, now=hours(134)) == {}
    assert sent[-1][0].startswith("[erpsync] RESOLVED: WAITING returns in shop-a")
