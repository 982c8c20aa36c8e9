"""Shopify webhook deliveries (erpsync.shopify.webhooks): only a body signed with the app's secret is an
event, and what it says changed is read from Shopify's headers and body. Signatures here are computed by
the test itself, as Shopify documents them (base64 of HMAC-SHA256 of the raw body)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest

from erpsync.shopify.webhooks import parse_delivery
from erpsync.store.events import RefusedDelivery

SECRET = "shpss_0123456789abcdef"


def signed(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(body: bytes, **overrides: str) -> dict[str, str]:
    values = {"x-shopify-topic": "orders/updated", "x-shopify-hmac-sha256": signed(body),
              "x-shopify-event-id": "ev-1", "x-shopify-triggered-at": "2026-12-05T03:00:00.123Z",
              "x-shopify-shop-domain": "demo-store.myshopify.com"}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


ORDER = {
    "id": 820982911946154508, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "updated_at": "2026-12-05T02:59:59-05:00", "cancelled_at": None, "email": "jon@example.com",
    "fulfillments": [{"id": 255858046, "admin_graphql_api_id": "gid://shopify/Fulfillment/255858046",
                      "created_at": "2026-12-05T02:59:58-05:00", "updated_at": "2026-12-05T02:59:59-05:00"}],
    "refunds": [{"id": 509562969, "admin_graphql_api_id": "gid://shopify/Refund/509562969"}],
}


def test_a_signed_order_delivery_says_which_order_changed_when_and_what_our_writes_touch():
    body = json.dumps(ORDER).encode()
    delivery = parse_delivery(headers(body), body, secret=SECRET)
    assert delivery.topic == "orders/updated" and delivery.event_id == "ev-1"
    assert delivery.resource == "gid://shopify/Order/820982911946154508"
    assert delivery.triggered_at == dt.datetime(2026, 12, 5, 3, 0, 0, 123000, tzinfo=dt.UTC)
    assert delivery.resource_updated_at == dt.datetime(2026, 12, 5, 7, 59, 59, tzinfo=dt.UTC)
    state = delivery.order_state
    assert state.fulfillment_ids == {"gid://shopify/Fulfillment/255858046"}
    assert state.refund_ids == {"gid://shopify/Refund/509562969"}
    assert state.cancelled is False
    assert state.fulfilled_at == dt.datetime(2026, 12, 5, 7, 59, 59, tzinfo=dt.UTC)


def test_a_refund_delivery_points_at_its_order():
    body = json.dumps({"id": 509562969, "order_id": 450789469, "created_at": "2026-12-05T03:00:00Z"}).encode()
    delivery = parse_delivery(headers(body, **{"x-shopify-topic": "refunds/create"}), body, secret=SECRET)
    assert delivery.resource == "gid://shopify/Order/450789469" and delivery.order_state is None


@pytest.mark.parametrize("tamper", ["other secret", "body changed", "no signature", "signature of empty"])
def test_a_delivery_not_signed_with_the_secret_over_this_very_body_is_refused(tamper):
    body = json.dumps(ORDER).encode()
    sent = {"other secret": headers(body, **{"x-shopify-hmac-sha256": signed(body, "shpss_other")}),
            "body changed": headers(body),
            "no signature": headers(body, **{"x-shopify-hmac-sha256": None}),
            "signature of empty": headers(body, **{"x-shopify-hmac-sha256": signed(b"")})}[tamper]
    received = body.replace(b"jon@", b"eve@") if tamper == "body changed" else body
    with pytest.raises(RefusedDelivery, match="signature") as refused:
        parse_delivery(sent, received, secret=SECRET)
    assert "jon@" not in str(refused.value) and "eve@" not in str(refused.value)  # never quotes the body


@pytest.mark.parametrize("missing,message", [("x-shopify-topic", "Topic"),
                                             ("x-shopify-event-id", "Event-Id")])
def test_a_signed_delivery_without_topic_or_event_id_is_refused(missing, message):
    body = b"{}"
    with pytest.raises(RefusedDelivery, match=message):
        parse_delivery(headers(body, **{missing: None}), body, secret=SECRET)


def test_a_signed_body_that_is_not_a_json_object_is_refused():
    for body in (b"not json", b"[1, 2]"):
        with pytest.raises(RefusedDelivery, match="JSON"):
            parse_delivery(headers(body), body, secret=SECRET)
