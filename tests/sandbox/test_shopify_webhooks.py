"""Webhooks: subscriptions through the Admin GraphQL API, every topic fired from its change, deliveries to a
real HTTP receiver with Shopify's headers and signature, retries, faults, and restarts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sandbox.shopify import ShopifyEmulator
from sandbox.shopify.clock import ManualClock
from sandbox.shopify.control import Running
from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import CATALOG, SET_QUANTITIES, Shop, new_key, quantities_input

# Short retries and timeout: a retry test takes a fraction of a second, not Shopify's hours.
CONFIG = {"webhooks": {"retry_delays_seconds": [0.05, 0.1, 0.2], "timeout_seconds": 0.5}}

SUBSCRIBE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id topic uri callbackUrl format includeFields apiVersion { handle } }
    userErrors { field message }
  }
}"""
SUBSCRIPTIONS = """
query Subscriptions($topics: [WebhookSubscriptionTopic!]) {
  webhookSubscriptions(first: 50, topics: $topics) { nodes { id topic uri } }
}"""
FULFILL = """mutation($fulfillment: FulfillmentInput!) { fulfillmentCreate(fulfillment: $fulfillment) {
  fulfillment { id } userErrors { field message } } }"""
PRODUCT_UPDATE = """mutation($product: ProductUpdateInput!) { productUpdate(product: $product) {
  product { id } userErrors { field message } } }"""


# -- the receiver ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: Message
    body: bytes

    @property
    def topic(self) -> str:
        return self.headers["X-Shopify-Topic"]

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        expected = base64.b64encode(hmac.new(secret.encode(), self.body, hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, self.headers["X-Shopify-Hmac-Sha256"])

    @property
    def subject(self) -> Any:
        body = self.payload
        if self.topic == "inventory_levels/update":
            return (body["inventory_item_id"], body["location_id"])
        if self.topic == "orders/edited":
            return body["order_edit"]["id"]
        return body["id"]


class Receiver:
    """An app's webhook endpoint on a free port. Records every POST, then answers from `script`: an int
    is the status to answer, a float the seconds to stall before answering 200 (past the emulator's
    timeout); once the script is used up, 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[int | float] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    receiver.received.append(Received(self.path, self.headers, body))
                    action = receiver.script.pop(0) if receiver.script else 200
                if isinstance(action, float):
                    time.sleep(action)
                    action = 200
                try:
                    self.send_response(action)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the emulator gave up waiting

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def uri(self, path: str = "/webhooks") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def topics(self) -> list[tuple[str, Any]]:
        with self._lock:
            return [(r.topic, r.subject) for r in self.received]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


@pytest.fixture
def running(emulator_home: Path, clock: ManualClock) -> Iterator[Running]:
    emulator = ShopifyEmulator(emulator_home, plan="ENTERPRISE")
    with emulator.running_in_thread(clock=clock, config=CONFIG) as served:
        yield served


@pytest.fixture
def shop(running: Running, clock: ManualClock) -> Shop:
    served = Shop(running.url, running.token, running.app, clock)
    served.admin("POST", "/seed", CATALOG)
    return served


# -- helpers ---------------------------------------------------------------------------------------------


def subscribe(shop: Shop, topic: str, uri: str, **fields: Any) -> dict[str, Any]:
    return shop.data(SUBSCRIBE, {"topic": topic, "subscription": {"uri": uri, "format": "JSON", **fields}})[
        "webhookSubscriptionCreate"
    ]


def flush(shop: Shop) -> None:
    assert shop.admin("POST", "/webhooks/flush", {"timeout": 20})["flushed"]


def deliveries(shop: Shop) -> list[dict[str, Any]]:
    """Oldest first."""
    return list(reversed(shop.admin("GET", "/webhooks?limit=1000")["deliveries"]))


def outcomes(shop: Shop) -> list[tuple[int, int | str | None, str]]:
    """(attempts, last status, state) of every delivery, oldest first."""
    return [(d["attempts"], d["last_status"], d["state"]) for d in deliveries(shop)]


def place_order(shop: Shop, sku: str = "HAT-1", quantity: int = 1) -> int:
    order = shop.admin("POST", "/orders", {"lines": [{"sku": sku, "quantity": quantity}]})
    return int(order["id"].rsplit("/", 1)[1])


def level_of(shop: Shop, sku: str, location: str = "Main Warehouse") -> tuple[int, int]:
    ids = shop.ids(sku)
    return int(ids["item"].rsplit("/", 1)[1]), int(ids[location].rsplit("/", 1)[1])


def fault(shop: Shop, **rule: Any) -> None:
    shop.admin("PUT", "/faults", {"seed": 1, "rules": [{"count": 1, **rule}]})


# -- subscriptions -----------------------------------------------------------------------------------


def test_subscriptions_are_created_listed_updated_and_deleted_through_graphql(
    shop: Shop, receiver: Receiver
) -> None:
    created = subscribe(shop, "ORDERS_CREATE", receiver.uri())
    assert created["userErrors"] == []
    subscription = created["webhookSubscription"]
    assert subscription["topic"] == "ORDERS_CREATE"
    assert subscription["uri"] == subscription["callbackUrl"] == receiver.uri()
    assert subscription["apiVersion"] == {"handle": "2026-10"}
    assert subscribe(shop, "ORDERS_UPDATED", receiver.uri())["userErrors"] == []

    duplicate = subscribe(shop, "ORDERS_CREATE", receiver.uri())
    assert duplicate == {
        "webhookSubscription": None,
        "userErrors": [
            {
                "field": ["webhookSubscription", "uri"],
                "message": "Address for this topic has already been taken",
            }
        ],
    }
    assert subscribe(shop, "ORDERS_CREATE", "not a url")["userErrors"] == [
        {"field": ["webhookSubscription", "uri"], "message": "Address is invalid"}
    ]

    listed = shop.data(SUBSCRIPTIONS, {"topics": ["ORDERS_CREATE"]})["webhookSubscriptions"]["nodes"]
    assert listed == [{"id": subscription["id"], "topic": "ORDERS_CREATE", "uri": receiver.uri()}]
    assert len(shop.data(SUBSCRIPTIONS)["webhookSubscriptions"]["nodes"]) == 2
    one = shop.data(
        "query($id: ID!) { webhookSubscription(id: $id) { id topic } }", {"id": subscription["id"]}
    )
    assert one["webhookSubscription"] == {"id": subscription["id"], "topic": "ORDERS_CREATE"}

    updated = shop.data(
        """mutation($id: ID!, $subscription: WebhookSubscriptionInput!) {
          webhookSubscriptionUpdate(id: $id, webhookSubscription: $subscription) {
            webhookSubscription { uri includeFields } userErrors { field message } } }""",
        {"id": subscription["id"], "subscription": {"uri": receiver.uri("/orders"), "includeFields": ["id"]}},
    )["webhookSubscriptionUpdate"]
    assert updated == {
        "webhookSubscription": {"uri": receiver.uri("/orders"), "includeFields": ["id"]},
        "userErrors": [],
    }

    delete = """mutation($id: ID!) { webhookSubscriptionDelete(id: $id) {
      deletedWebhookSubscriptionId userErrors { field message } } }"""
    assert shop.data(delete, {"id": subscription["id"]})["webhookSubscriptionDelete"] == {
        "deletedWebhookSubscriptionId": subscription["id"],
        "userErrors": [],
    }
    assert shop.data(delete, {"id": subscription["id"]})["webhookSubscriptionDelete"] == {
        "deletedWebhookSubscriptionId": None,
        "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
    }
    assert shop.data(SUBSCRIPTIONS, {"topics": ["ORDERS_CREATE"]})["webhookSubscriptions"]["nodes"] == []


def test_unmodelled_destinations_and_topics_are_refused_loudly(shop: Shop) -> None:
    pubsub = shop.gql(SUBSCRIBE, {"topic": "ORDERS_CREATE", "subscription": {"uri": "pubsub://p:t"}})
    assert pubsub["errors"][0]["extensions"]["code"] == "NOT_MODELLED_BY_EMULATOR"
    https = {"uri": "https://app.example/hooks"}
    other = shop.gql(SUBSCRIBE, {"topic": "CUSTOMERS_DELETE", "subscription": https})
    assert other["errors"][0]["extensions"]["code"] == "NOT_MODELLED_BY_EMULATOR"


def test_subscriptions_survive_a_restart_and_reset_and_the_secret_is_kept(
    emulator_home: Path, clock: ManualClock, receiver: Receiver
) -> None:
    emulator = ShopifyEmulator(emulator_home, plan="ENTERPRISE")
    with emulator.running_in_thread(clock=clock, config=CONFIG) as first:
        shop = Shop(first.url, first.token, first.app, clock)
        shop.admin("POST", "/seed", CATALOG)
        subscribe(shop, "ORDERS_CREATE", receiver.uri())
        secret = first.client_secret
    with emulator.running_in_thread(clock=clock, config=CONFIG) as second:
        shop = Shop(second.url, second.token, second.app, clock)
        assert second.client_secret == secret
        nodes = shop.data(SUBSCRIPTIONS)["webhookSubscriptions"]["nodes"]
        assert [n["uri"] for n in nodes] == [receiver.uri()]
        shop.admin("POST", "/reset")
        shop.admin("POST", "/seed", CATALOG)
        order_id = place_order(shop)
        flush(shop)
    assert receiver.topics() == [("orders/create", order_id)]
    assert receiver.received[0].signed_with(secret)


def test_client_secret_is_generated_once_kept_0600_and_shown_only_when_asked(emulator_home: Path) -> None:
    emulator = ShopifyEmulator(emulator_home)
    secret = emulator.client_secret()
    assert secret.startswith("shpss_") and secret == emulator.client_secret()
    assert stat.S_IMODE(os.stat(emulator_home / "client_secret").st_mode) == 0o600
    info = emulator.info()
    assert info["client_secret_file"] == str(emulator_home / "client_secret")
    assert secret not in json.dumps(info)
    assert emulator.info(show_token=True)["client_secret"] == secret


# -- topics ------------------------------------------------------------------------------------------


@pytest.fixture
def subscribed(shop: Shop, receiver: Receiver) -> Shop:
    for topic in (
        "ORDERS_CREATE",
        "ORDERS_UPDATED",
        "ORDERS_CANCELLED",
        "ORDERS_FULFILLED",
        "REFUNDS_CREATE",
        "FULFILLMENTS_CREATE",
        "INVENTORY_LEVELS_UPDATE",
        "PRODUCTS_UPDATE",
    ):
        assert subscribe(shop, topic, receiver.uri(f"/{topic.lower()}"))["userErrors"] == []
    return shop


def test_an_order_from_the_admin_endpoint_fires_create_then_updated_and_the_stock_change(
    subscribed: Shop, receiver: Receiver, running: Running, clock: ManualClock
) -> None:
    clock.advance(60)
    order_id = place_order(subscribed, "SHOE-40", 2)
    flush(subscribed)
    level = level_of(subscribed, "SHOE-40")
    assert receiver.topics() == [
        ("inventory_levels/update", level),
        ("orders/create", order_id),
        ("orders/updated", order_id),
    ]
    stock, created, _updated = receiver.received
    assert stock.payload == {
        "inventory_item_id": level[0],
        "location_id": level[1],
        "available": 8,
        "updated_at": "2026-10-01T12:01:00+00:00",
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{level[1]}?inventory_item_id={level[0]}",
    }
    order = created.payload
    assert order["admin_graphql_api_id"] == f"gid://shopify/Order/{order_id}"
    assert (order["name"], order["order_number"]) == ("#1001", 1001)
    assert order["created_at"] == order["updated_at"] == "2026-10-01T12:01:00+00:00"
    statuses = (order["cancelled_at"], order["financial_status"], order["fulfillment_status"])
    assert statuses == (None, "paid", None)
    assert [(li["sku"], li["quantity"], li["variant_id"]) for li in order["line_items"]] == [
        ("SHOE-40", 2, int(subscribed.ids("SHOE-40")["variant"].rsplit("/", 1)[1]))
    ]
    assert order["total_price"] == "179.80"
    assert created.path == "/orders_create"
    for delivery in receiver.received:
        assert delivery.signed_with(running.client_secret)


def test_orders_from_the_shopper_fire_too(subscribed: Shop, receiver: Receiver) -> None:
    actions = subscribed.admin(
        "POST", "/shopper/step", {"steps": 3, "seed": 3, "cancel_rate": 0, "refund_rate": 0}
    )["actions"]
    order_ids = [a["order_id"] for a in actions if a["action"] == "order"]
    assert order_ids
    flush(subscribed)
    assert [s for t, s in receiver.topics() if t == "orders/create"] == order_ids
    assert [s for t, s in receiver.topics() if t == "orders/updated"] == order_ids


def test_cancel_fires_cancelled_refund_updated_and_the_restock(subscribed: Shop, receiver: Receiver) -> None:
    order_id = place_order(subscribed)
    flush(subscribed)
    receiver.received.clear()
    subscribed.admin("POST", f"/orders/{order_id}/cancel", {"reason": "CUSTOMER", "restock": True})
    flush(subscribed)
    topics = receiver.topics()
    assert [t for t, _s in topics] == [
        "inventory_levels/update",
        "refunds/create",
        "orders/cancelled",
        "orders/updated",
    ]
    refund = receiver.received[1].payload
    assert (refund["order_id"], refund["created_at"]) == (order_id, "2026-10-01T12:00:00+00:00")
    cancelled = receiver.received[2].payload
    assert cancelled["id"] == order_id and cancelled["cancelled_at"] == "2026-10-01T12:00:00+00:00"
    assert cancelled["cancel_reason"] == "customer" and cancelled["financial_status"] == "refunded"


def test_refund_fires_refunds_create_and_orders_updated(subscribed: Shop, receiver: Receiver) -> None:
    order_id = place_order(subscribed, "HAT-1", 2)
    flush(subscribed)
    receiver.received.clear()
    subscribed.admin("POST", f"/orders/{order_id}/refund", {"lines": [{"sku": "HAT-1", "quantity": 1}]})
    flush(subscribed)
    topics = [t for t, _s in receiver.topics()]
    assert topics == ["inventory_levels/update", "refunds/create", "orders/updated"]
    refund = receiver.received[1].payload
    assert refund["order_id"] == order_id
    assert [(r["quantity"], r["restock_type"]) for r in refund["refund_line_items"]] == [(1, "cancel")]


def test_fulfillment_create_fires_fulfillments_create_and_orders_fulfilled(
    subscribed: Shop, receiver: Receiver
) -> None:
    order = subscribed.admin("POST", "/orders", {"lines": [{"sku": "HAT-1", "quantity": 1}]})
    order_id = int(order["id"].rsplit("/", 1)[1])
    flush(subscribed)
    receiver.received.clear()
    fulfillment_order = order["fulfillment_orders"][0]["id"]
    created = subscribed.data(
        FULFILL, {"fulfillment": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fulfillment_order}]}}
    )["fulfillmentCreate"]
    fulfillment_id = int(created["fulfillment"]["id"].rsplit("/", 1)[1])
    flush(subscribed)
    assert receiver.topics() == [
        ("inventory_levels/update", level_of(subscribed, "HAT-1")),
        ("fulfillments/create", fulfillment_id),
        ("orders/fulfilled", order_id),
        ("orders/updated", order_id),
    ]
    fulfillment = receiver.received[1].payload
    assert (fulfillment["order_id"], fulfillment["status"]) == (order_id, "success")
    assert fulfillment["created_at"] == "2026-10-01T12:00:00+00:00"
    assert receiver.received[2].payload["fulfillment_status"] == "fulfilled"


def test_an_order_edit_fires_orders_edited_with_its_line_changes_then_orders_updated(
    shop: Shop, receiver: Receiver
) -> None:
    for topic in ("ORDERS_EDITED", "ORDERS_UPDATED"):
        assert subscribe(shop, topic, receiver.uri(f"/{topic.lower()}"))["userErrors"] == []
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 2}]})
    order_id, shoe_line = int(order["id"].rsplit("/", 1)[1]), int(order["lines"][0]["id"].rsplit("/", 1)[1])
    flush(shop)
    receiver.received.clear()
    shop.clock.advance(90)
    edited = shop.admin("POST", f"/orders/{order_id}/edit", {
        "add": [{"sku": "HAT-1", "quantity": 2}], "set": [{"line_item_id": shoe_line, "quantity": 1}],
        "staff_note": "Swapped a shoe for hats"})
    hat_line = int(edited["line_item_ids"][0].rsplit("/", 1)[1])
    flush(shop)
    assert [t for t, _s in receiver.topics()] == ["orders/edited", "orders/updated"]
    edit, updated = receiver.received
    assert edit.path == "/orders_edited"
    assert edit.payload == {"order_edit": {
        "id": edit.subject, "app_id": None, "created_at": "2026-10-01T12:01:30+00:00",
        "notify_customer": False, "order_id": order_id, "staff_note": "Swapped a shoe for hats",
        "user_id": None,
        "line_items": {"additions": [{"id": hat_line, "delta": 2}],
                       "removals": [{"id": shoe_line, "delta": 1}]},
        "discounts": {"additions": [], "removals": []}, "shipping_lines": {"additions": [], "removals": []}}}
    body = updated.payload
    assert body["id"] == order_id and body["updated_at"] == "2026-10-01T12:01:30+00:00"
    assert [(li["id"], li["quantity"], li["current_quantity"]) for li in body["line_items"]] == [
        (shoe_line, 2, 1), (hat_line, 2, 2)]
    # 179.80 paid; 89.90 off, 50.00 on: 39.90 owed back.
    assert (body["current_total_price"], body["total_outstanding"]) == ("139.90", "-39.90")


def test_inventory_mutation_fires_inventory_levels_update(subscribed: Shop, receiver: Receiver) -> None:
    ids = subscribed.ids("HAT-1")
    body = subscribed.data(
        SET_QUANTITIES,
        {"input": quantities_input([(ids["item"], ids["Main Warehouse"], 7, 3)]), "key": new_key()},
    )
    assert body["inventorySetQuantities"]["userErrors"] == []
    flush(subscribed)
    assert receiver.topics() == [("inventory_levels/update", level_of(subscribed, "HAT-1"))]
    assert receiver.received[0].payload["available"] == 7


def test_product_update_fires_products_update(
    subscribed: Shop, receiver: Receiver, clock: ManualClock
) -> None:
    product = subscribed.ids("HAT-1")["product"]
    clock.advance(5)
    updated = subscribed.data(PRODUCT_UPDATE, {"product": {"id": product, "title": "Warm Hat"}})
    assert updated["productUpdate"]["userErrors"] == []
    flush(subscribed)
    product_id = int(product.rsplit("/", 1)[1])
    assert receiver.topics() == [("products/update", product_id)]
    body = receiver.received[0].payload
    assert (body["title"], body["updated_at"]) == ("Warm Hat", "2026-10-01T12:00:05+00:00")
    assert [v["sku"] for v in body["variants"]] == ["HAT-1"]


def test_include_fields_trims_the_body(shop: Shop, receiver: Receiver) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri(), includeFields=["id", "line_items.sku"])
    order_id = place_order(shop)
    flush(shop)
    assert [r.payload for r in receiver.received] == [{"id": order_id, "line_items": [{"sku": "HAT-1"}]}]


# -- delivery ----------------------------------------------------------------------------------------


def test_headers_are_shopifys_and_the_signature_verifies_with_the_client_secret(
    shop: Shop, receiver: Receiver, running: Running, clock: ManualClock
) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri())
    clock.advance(90)
    order_id = place_order(shop)
    flush(shop)
    (delivery,) = receiver.received
    headers = delivery.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-Shop-Domain"] == "demo-store.myshopify.com"
    assert headers["X-Shopify-API-Version"] == "2026-10"
    assert headers["X-Shopify-Triggered-At"] == "2026-10-01T12:01:30Z"
    assert headers["X-Shopify-Webhook-Id"] and headers["X-Shopify-Event-Id"]
    assert delivery.signed_with(running.client_secret)
    assert not delivery.signed_with(running.token)
    assert delivery.payload["id"] == order_id


def test_delivery_never_blocks_the_request_that_made_the_change(shop: Shop, receiver: Receiver) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri())
    receiver.script = [0.4]  # the receiver stalls (within the emulator's 0.5 s timeout)
    started = time.monotonic()
    place_order(shop)
    assert time.monotonic() - started < 0.3
    flush(shop)
    assert [d["state"] for d in deliveries(shop)] == ["delivered"]


def test_a_500_is_retried_until_a_2xx_with_the_same_ids(shop: Shop, receiver: Receiver) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri())
    receiver.script = [500, 503]
    place_order(shop)
    flush(shop)
    assert len(receiver.received) == 3
    assert len({r.headers["X-Shopify-Webhook-Id"] for r in receiver.received}) == 1
    assert len({r.headers["X-Shopify-Event-Id"] for r in receiver.received}) == 1
    assert outcomes(shop) == [(3, 200, "delivered")]


def test_a_timeout_is_retried_until_a_2xx(shop: Shop, receiver: Receiver) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri())
    receiver.script = [1.5]  # past the 0.5 s timeout of CONFIG
    place_order(shop)
    flush(shop)
    assert len(receiver.received) == 2
    assert outcomes(shop) == [(2, 200, "delivered")]


def test_retries_end_after_the_configured_delays(shop: Shop, receiver: Receiver) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri())
    receiver.script = [500] * 10
    place_order(shop)
    flush(shop)
    assert len(receiver.received) == 4  # the first attempt and the three retries of CONFIG
    assert outcomes(shop) == [(4, 500, "failed")]


def test_a_connection_error_is_retried(shop: Shop, receiver: Receiver) -> None:
    closed = Receiver()
    uri = closed.uri()
    closed.close()
    subscribe(shop, "ORDERS_CREATE", uri)
    place_order(shop)
    flush(shop)
    assert outcomes(shop) == [(4, "connection error", "failed")]


# -- faults --------------------------------------------------------------------------------------------


def test_webhook_drop_delivers_nothing(shop: Shop, receiver: Receiver) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri())
    fault(shop, kind="webhook_drop", match="orders/create")
    first = place_order(shop)
    second = place_order(shop, "SHOE-40")
    flush(shop)
    assert receiver.topics() == [("orders/create", second)]
    assert [(d["state"], d["attempts"]) for d in deliveries(shop)] == [("dropped", 0), ("delivered", 1)]
    assert first != second


def test_webhook_duplicate_delivers_twice_with_the_same_event_id(shop: Shop, receiver: Receiver) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri())
    fault(shop, kind="webhook_duplicate")
    order_id = place_order(shop)
    flush(shop)
    assert receiver.topics() == [("orders/create", order_id), ("orders/create", order_id)]
    event_ids = [r.headers["X-Shopify-Event-Id"] for r in receiver.received]
    webhook_ids = [r.headers["X-Shopify-Webhook-Id"] for r in receiver.received]
    assert event_ids[0] == event_ids[1]
    assert webhook_ids[0] != webhook_ids[1]


def test_webhook_bad_signature_fails_verification(shop: Shop, receiver: Receiver, running: Running) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri())
    fault(shop, kind="webhook_bad_signature")
    place_order(shop)
    place_order(shop, "SHOE-40")
    flush(shop)
    assert [r.signed_with(running.client_secret) for r in receiver.received] == [False, True]


def test_webhook_delay_delivers_late(shop: Shop, receiver: Receiver) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri())
    fault(shop, kind="webhook_delay", delay_seconds=0.6)
    started = time.monotonic()
    late = place_order(shop)
    on_time = place_order(shop, "SHOE-40")
    flush(shop)
    assert time.monotonic() - started >= 0.6
    assert receiver.topics() == [("orders/create", on_time), ("orders/create", late)]


def test_webhook_reorder_delivers_after_the_next_event(shop: Shop, receiver: Receiver) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri())
    fault(shop, kind="webhook_reorder")
    held = place_order(shop)
    assert shop.admin("GET", "/webhooks")["queue"]["held"] == 1
    following = place_order(shop, "SHOE-40")
    # No flush (it would release what is held): the next event alone lets the held one go.
    deadline = time.monotonic() + 5
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert receiver.topics() == [("orders/create", following), ("orders/create", held)]


def test_webhook_faults_leave_graphql_alone_and_request_faults_leave_deliveries_alone(
    shop: Shop, receiver: Receiver
) -> None:
    subscribe(shop, "ORDERS_CREATE", receiver.uri())
    shop.admin("PUT", "/faults", {"seed": 1, "rules": [{"kind": "webhook_drop"}, {"kind": "webhook_delay"}]})
    assert shop.post({"query": "{ shop { name } }"}).status_code == 200
    shop.admin("PUT", "/faults", {"seed": 1, "rules": [{"kind": "error_5xx"}]})
    order_id = place_order(shop)
    flush(shop)
    assert receiver.topics() == [("orders/create", order_id)]
    assert shop.post({"query": "{ shop { name } }"}).status_code == 503
