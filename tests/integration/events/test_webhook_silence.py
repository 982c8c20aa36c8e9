"""STALE webhooks (erpsync.alerts.rules.check_webhooks) on a real warehouse: a store whose webhooks went
silent while its orders kept changing is alerted once, with the refused deliveries that may explain it,
and the alert clears when an event arrives again; a store that never had webhooks, or whose orders did
not change, is never alerted."""

from __future__ import annotations

import datetime as dt

from erpsync.alerts.book import AlertBook
from erpsync.alerts.rules import check_webhooks
from erpsync.warehouse.schema import stg_order, store_event

T0 = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def order(store: str, number: int, updated: dt.datetime) -> dict:
    return {"store": store, "store_order_id": f"gid://shopify/Order/{number}", "store_created_at": updated,
            "store_updated_at": updated, "currency": "USD", "subtotal": 1, "discount_total": 0,
            "shipping_total": 0,
            "tax_total": 0, "total": 1, "requires_shipping": False, "batch_id": "b", "staged_at": updated}


def event(store: str, event_id: str | None, received: dt.datetime, outcome: str = "run") -> dict:
    return {"store": store, "event_id": event_id, "topic": "orders/create", "received_at": received,
            "outcome": outcome, "deliveries": 1}


def test_silent_webhooks_alert_once_while_orders_change_and_clear_when_events_come_back(warehouse):
    sent: list[tuple[str, str]] = []

    def send(subject: str, text: str) -> list[str]:
        sent.append((subject, text))
        return ["slack"]

    with warehouse.begin() as conn:
        conn.execute(store_event.insert(), [event("shop-a", "e1", minutes(0)),
                                            event("shop-b", "e2", minutes(0))])
        # shop-a's orders keep changing, read by the poll; shop-b's stop too; shop-c never had webhooks.
        conn.execute(stg_order.insert(), [order("shop-a", 1, minutes(1)), order("shop-a", 2, minutes(20)),
                                          order("shop-b", 3, minutes(1)), order("shop-c", 4, minutes(30))])
        conn.execute(store_event.insert(), [event("shop-a", None, minutes(18), "refused")] * 3)

    book = AlertBook(warehouse, send)
    assert check_webhooks(book, warehouse, silence_minutes=15, now=minutes(21)) == {"shop-a": 21.0}
    assert [subject for subject, _ in sent] == ["[erpsync] STALE webhooks of shop-a: silent while its orders "
                                                "change"]
    assert "Last event 21 min ago" in sent[0][1] and "the newest 1 min ago" in sent[0][1]
    assert "3 deliveries were refused" in sent[0][1] and "webhook_secret" in sent[0][1]
    assert check_webhooks(book, warehouse, silence_minutes=15, now=minutes(22)) == {"shop-a": 22.0}
    assert len(sent) == 1, "the same problem is not sent twice"

    with warehouse.begin() as conn:
        conn.execute(store_event.insert(), [event("shop-a", "e3", minutes(23))])
    assert check_webhooks(book, warehouse, silence_minutes=15, now=minutes(24)) == {}
    assert [subject for subject, _ in sent][1:] == ["[erpsync] RESOLVED: STALE webhooks of shop-a: silent "
                                                    "while its orders change"]
