"""Shopify webhook deliveries: their signature and what they say changed (shopify.dev, "About webhooks"
and "Verify webhooks"). Pure functions: the receiver (:mod:`erpsync.events.receiver`) records and acts.

A delivery is an HTTP POST of the resource as JSON with headers ``X-Shopify-Topic``,
``X-Shopify-Hmac-Sha256`` (base64 of HMAC-SHA256 of the raw body, keyed by the app's client secret),
``X-Shopify-Event-Id`` (the same for every delivery of one event), ``X-Shopify-Triggered-At``. Shopify
delivers at least once, possibly late and out of order: nothing here trusts the order of arrival.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from erpsync.store.events import Delivery, OrderState, RefusedDelivery

MAX_TOPIC = 64
MAX_ID = 128


def signature(secret: str, body: bytes) -> str:
    """The ``X-Shopify-Hmac-Sha256`` a body signed with ``secret`` carries."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verified(secret: str, body: bytes, presented: str | None) -> bool:
    """Whether ``presented`` is the body's signature with ``secret`` (compared in constant time)."""
    return bool(presented) and hmac.compare_digest(signature(secret, body), presented.strip())


def parse_delivery(headers: Mapping[str, str], body: bytes, *, secret: str) -> Delivery:
    """The event a delivery announces, once its signature is proven; :class:`RefusedDelivery` (with the
    reason, which never quotes the body) when it is not signed with ``secret`` or is not a Shopify event.
    ``headers``' keys in lower case."""
    topic = (headers.get("x-shopify-topic") or "").strip()
    if not verified(secret, body, headers.get("x-shopify-hmac-sha256")):
        raise RefusedDelivery("the X-Shopify-Hmac-Sha256 signature does not match the body with the store "
                              "Connection's webhook_secret", claimed_topic=topic[:MAX_TOPIC] or None)
    event_id = (headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id") or "").strip()
    if not topic or len(topic) > MAX_TOPIC:
        raise RefusedDelivery("no X-Shopify-Topic header")
    if not event_id or len(event_id) > MAX_ID:
        raise RefusedDelivery("no X-Shopify-Event-Id header")
    try:
        payload = json.loads(body) if body else {}
    except ValueError as error:
        raise RefusedDelivery(f"the body is not JSON ({error.msg})") from None
    if not isinstance(payload, dict):
        raise RefusedDelivery("the body is not a JSON object")
    return Delivery(
        topic=topic, event_id=event_id, triggered_at=_stamp(headers.get("x-shopify-triggered-at")),
        resource=_resource(topic, payload), resource_updated_at=_stamp(payload.get("updated_at")),
        order_state=_order_state(topic, payload),
    )


def _resource(topic: str, payload: dict[str, Any]) -> str | None:
    gid = payload.get("admin_graphql_api_id")
    if topic.startswith("orders/") and isinstance(gid, str):
        return gid[:MAX_ID]
    order_id = payload.get("order_id")  # refunds/*, fulfillments/*: the order they belong to
    if isinstance(order_id, int):
        return f"gid://shopify/Order/{order_id}"
    return gid[:MAX_ID] if isinstance(gid, str) else None


def _order_state(topic: str, payload: dict[str, Any]) -> OrderState | None:
    """For an order topic: what the order carries that our own writes could have caused (its fulfillments
    and when the latest changed, its refunds, whether it is cancelled); None for other topics."""
    if not topic.startswith("orders/"):
        return None
    fulfillments = _items(payload.get("fulfillments"))
    stamps = [s for s in (_stamp(f.get("updated_at") or f.get("created_at")) for f in fulfillments) if s]
    return OrderState(
        fulfillment_ids=frozenset(_gids(fulfillments, "Fulfillment")),
        refund_ids=frozenset(_gids(_items(payload.get("refunds")), "Refund")),
        cancelled=bool(payload.get("cancelled_at")),
        fulfilled_at=max(stamps, default=None),
    )


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _gids(items: list[dict[str, Any]], kind: str) -> list[str]:
    gids = []
    for item in items:
        gid = item.get("admin_graphql_api_id")
        if isinstance(gid, str):
            gids.append(gid)
        elif isinstance(item.get("id"), int):
            gids.append(f"gid://shopify/{kind}/{item['id']}")
    return gids


def _stamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
