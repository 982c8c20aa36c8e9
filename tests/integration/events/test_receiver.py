"""The webhook receiver against a real warehouse, on both engines (erpsync.events.receiver): every
delivery is recorded before it is answered, an event asks for one run however often it is delivered, a
refused delivery is recorded and used for nothing, and nothing is lost when asking Airflow fails."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from functools import partial

import pytest
from sqlalchemy import create_engine, select

from erpsync.events.receiver import receive
from erpsync.shopify.webhooks import parse_delivery
from erpsync.store.events import Endpoint
from erpsync.warehouse.schema import order_ledger, store_event

SECRET = "shpss_test_secret"
NOW = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
ENDPOINT = Endpoint(store="test-store", parse=partial(parse_delivery, secret=SECRET))


def delivery(event_id: str, order: int = 1, topic: str = "orders/create", secret: str = SECRET,
             triggered: dt.datetime = NOW, **body) -> tuple[dict[str, str], bytes]:
    raw = json.dumps({"id": order, "admin_graphql_api_id": f"gid://shopify/Order/{order}",
                      "updated_at": triggered.isoformat(), "email": "buyer@example.com", **body}).encode()
    mac = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return {"x-shopify-topic": topic, "x-shopify-hmac-sha256": mac, "x-shopify-event-id": event_id,
            "x-shopify-triggered-at": triggered.isoformat()}, raw


class Airflow:
    """Stands in for the asset event (the Airflow side has its own end-to-end test): records each ask."""

    def __init__(self, failures: int = 0):
        self.asked: list[str] = []
        self.failures = failures

    def __call__(self, event) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("metadata database unavailable")
        self.asked.append(event.event_id)


def rows(warehouse):
    with warehouse.connect() as conn:
        return conn.execute(select(store_event).order_by(store_event.c.id)).mappings().all()


def test_each_event_asks_for_one_run_however_often_and_in_whatever_order_it_is_delivered(warehouse):
    airflow = Airflow()
    sent = [delivery("e1", 1), delivery("e2", 2), delivery("e1", 1),
            delivery("e3", 3, topic="orders/updated"), delivery("e2", 2), delivery("e1", 1)]
    answers = [receive(ENDPOINT, h, b, engine=warehouse, request_run=airflow, received_at=NOW)
               for h, b in sent]
    assert [a.status for a in answers] == [200] * 6
    assert [a.body["outcome"] for a in answers] == ["run", "run", "duplicate", "run", "duplicate",
                                                    "duplicate"]
    assert airflow.asked == ["e1", "e2", "e3"]
    recorded = rows(warehouse)
    assert [(r["event_id"], r["outcome"], r["deliveries"]) for r in recorded] == [
        ("e1", "run", 3), ("e2", "run", 2), ("e3", "run", 1)]
    assert [r["resource"] for r in recorded] == [f"gid://shopify/Order/{n}" for n in (1, 2, 3)]
    assert all(r["store"] == "test-store" and r["received_at"] == NOW for r in recorded)
    assert "buyer@example.com" not in json.dumps([dict(r) for r in recorded], default=str)  # no payload kept


def test_a_delivery_with_a_bad_signature_is_refused_recorded_and_used_for_nothing(warehouse):
    airflow = Airflow()
    headers, body = delivery("e9", secret="shpss_forged")
    answer = receive(ENDPOINT, headers, body, engine=warehouse, request_run=airflow, received_at=NOW)
    assert answer.status == 401 and answer.body["outcome"] == "refused"
    assert airflow.asked == []
    assert [(r["event_id"], r["outcome"], r["topic"]) for r in rows(warehouse)] == [
        (None, "refused", "orders/create")]
    # The same event id, properly signed later, is a new event: the forged one claimed nothing.
    headers, body = delivery("e9")
    assert receive(ENDPOINT, headers, body, engine=warehouse, request_run=airflow,
                   received_at=NOW).status == 200
    assert airflow.asked == ["e9"]


def test_stale_and_no_work_deliveries_are_recorded_and_ask_for_nothing(warehouse):
    airflow = Airflow()
    old = delivery("e-old", triggered=NOW - dt.timedelta(hours=2))
    stock = delivery("e-stock", topic="inventory_levels/update")
    answers = [receive(ENDPOINT, h, b, engine=warehouse, request_run=airflow, received_at=NOW)
               for h, b in (old, stock)]
    assert [(a.status, a.body["outcome"]) for a in answers] == [(200, "stale"), (200, "ignored")]
    assert airflow.asked == []
    assert [(r["event_id"], r["outcome"]) for r in rows(warehouse)] == [("e-old", "stale"),
                                                                        ("e-stock", "ignored")]


def test_our_own_fulfillment_coming_back_is_an_echo_but_a_refund_after_it_is_not(warehouse):
    with warehouse.begin() as conn:
        conn.execute(order_ledger.insert().values(
            store="test-store", store_order_id="gid://shopify/Order/5", state="fulfilled", attempts=1,
            store_fulfillment_ids=["gid://shopify/Fulfillment/50"], created_at=NOW, updated_at=NOW))
    airflow = Airflow()
    fulfilment = [{"admin_graphql_api_id": "gid://shopify/Fulfillment/50", "updated_at": NOW.isoformat()}]
    echo = delivery("e-echo", 5, topic="orders/updated", fulfillments=fulfilment)
    refund = delivery("e-refund", 5, topic="orders/updated", fulfillments=fulfilment,
                      refunds=[{"id": 77}], triggered=NOW + dt.timedelta(seconds=30))
    answers = [receive(ENDPOINT, h, b, engine=warehouse, request_run=airflow,
                       received_at=NOW + dt.timedelta(minutes=1))
               for h, b in (echo, refund)]
    assert [a.body["outcome"] for a in answers] == ["echo", "run"]
    assert airflow.asked == ["e-refund"]


def test_when_airflow_cannot_be_asked_the_store_is_told_to_deliver_again_and_that_delivery_asks(warehouse):
    airflow = Airflow(failures=1)
    headers, body = delivery("e1")
    first = receive(ENDPOINT, headers, body, engine=warehouse, request_run=airflow, received_at=NOW)
    assert first.status == 503 and airflow.asked == []
    assert [(r["outcome"], r["deliveries"]) for r in rows(warehouse)] == [("run_failed", 1)]
    second = receive(ENDPOINT, headers, body, engine=warehouse, request_run=airflow, received_at=NOW)
    assert (second.status, second.body["outcome"]) == (200, "run")
    assert airflow.asked == ["e1"]
    assert [(r["outcome"], r["deliveries"]) for r in rows(warehouse)] == [("run", 2)]
    third = receive(ENDPOINT, headers, body, engine=warehouse, request_run=airflow, received_at=NOW)
    assert third.body["outcome"] == "duplicate" and airflow.asked == ["e1"]


def test_when_the_warehouse_cannot_record_the_store_is_told_to_deliver_again(tmp_path):
    missing = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'warehouse.sqlite'}")
    airflow = Airflow()
    headers, body = delivery("e1")
    answer = receive(ENDPOINT, headers, body, engine=missing, request_run=airflow, received_at=NOW)
    assert answer.status == 503 and airflow.asked == []


@pytest.mark.parametrize("bad", [b"", b"\xff\xfe", b"x" * 10_000])
def test_garbage_is_refused_without_touching_airflow(warehouse, bad):
    airflow = Airflow()
    answer = receive(ENDPOINT, {"x-shopify-topic": "orders/create"}, bad, engine=warehouse,
                     request_run=airflow, received_at=NOW)
    assert answer.status == 401 and airflow.asked == []
    assert [r["outcome"] for r in rows(warehouse)] == ["refused"]
