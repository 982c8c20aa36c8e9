"""NOT APPLIED (erpsync.alerts.rules.check_not_applied) on a real warehouse: changes of booked orders the
ERP could not follow are alerted per store, once, with the order numbers and reasons and no customer
data, and the alert clears once the window passed without another; applied changes never alert."""

from __future__ import annotations

import datetime as dt

from erpsync.alerts.book import AlertBook
from erpsync.alerts.rules import check_not_applied
from erpsync.warehouse.schema import order_adjustment, stg_order

T0 = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)


def hours(n: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


def order(store: str, number: int) -> dict:
    return {"store": store, "store_order_id": f"gid://shopify/Order/{number}",
            "order_name": f"#{1000 + number}", "store_created_at": T0, "store_updated_at": T0, "currency": "USD",
            "subtotal": 1, "discount_total": 0, "shipping_total": 0, "tax_total": 0, "total": 1, "requires_shipping": True, "batch_id": "b",
            "staged_at": T0, "customer": {"email": "ava@example.com"}}


def change(store: str, number: int, kind: str, ref: str, state: str, when: dt.datetime, detail: str) -> dict:
    return {"store": store, "store_order_id": f"gid://shopify/Order/{number}", "kind": kind, "store_ref": ref,
            "state": state, "detail": detail, "created_at": when, "updated_at": when}


def test_changes_the_erp_cannot_follow_alert_once_per_store_and_clear_after_the_window(warehouse):
    sent: list[tuple[str, str]] = []

    def send(subject: str, text: str) -> list[str]:
        sent.append((subject, text))
        return ["slack"]

    with warehouse.begin() as conn:
        conn.execute(stg_order.insert(), [order("shop-a", 1), order("shop-a", 2), order("shop-b", 3)])
        conn.execute(order_adjustment.insert(), [
            change("shop-a", 1, "edit", "E1", "not_possible", hours(0),
                   "goods already shipped or picked (shipment done)"),
            change("shop-a", 2, "cancel", "cancel", "not_possible", hours(1), "already shipped (shipment CUST7)"),
            change("shop-b", 3, "edit", "E2", "applied", hours(1), "applied"),
        ])

    book = AlertBook(warehouse, send)
    assert check_not_applied(book, warehouse, within_hours=24, now=hours(2)) == {"shop-a": 2}
    assert [subject for subject, _ in sent] == [
        "[erpsync] NOT APPLIED orders in shop-a: 2 order change(s) the ERP cannot follow"]
    text = sent[0][1]
    assert "Kinds: cancel: 1, edit: 1" in text
    assert "#1001 edit: goods already shipped or picked (shipment done)" in text
    assert "#1002 cancel: already shipped (shipment CUST7)" in text
    assert "ava@example.com" not in text
    assert check_not_applied(book, warehouse, within_hours=24, now=hours(3)) == {"shop-a": 2}
    assert len(sent) == 1, "the same problem is not sent twice"

    # The edit falls out of the window first (a reminder, past renotify_hours, says what is left), then the
    # cancellation: resolved once none is left.
    assert check_not_applied(book, warehouse, within_hours=24, now=hours(24.5)) == {"shop-a": 1}
    assert check_not_applied(book, warehouse, within_hours=24, now=hours(25.5)) == {}
    assert [subject for subject, _ in sent][1:] == [
        "[erpsync] NOT APPLIED orders in shop-a: 1 order change(s) the ERP cannot follow",
        "[erpsync] RESOLVED: NOT APPLIED orders in shop-a: 1 order change(s) the ERP cannot follow"]
