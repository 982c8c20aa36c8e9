"""Webhook subscriptions: create, update, delete, with the userErrors of webhookSubscriptionCreate."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sandbox.shopify.errors import UserErrors
from sandbox.shopify.state.records import WebhookSubscription
from sandbox.shopify.state.store import Store

# The topics the emulator fires (schema enum value -> the topic name of X-Shopify-Topic).
TOPICS = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_CANCELLED": "orders/cancelled",
    "ORDERS_FULFILLED": "orders/fulfilled",
    "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled",
    "ORDERS_EDITED": "orders/edited",
    "REFUNDS_CREATE": "refunds/create",
    "RETURNS_APPROVE": "returns/approve",
    "RETURNS_PROCESS": "returns/process",
    "RETURNS_CLOSE": "returns/close",
    "RETURNS_CANCEL": "returns/cancel",
    "REVERSE_FULFILLMENT_ORDERS_DISPOSE": "reverse_fulfillment_orders/dispose",
    "FULFILLMENTS_CREATE": "fulfillments/create",
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "PRODUCTS_CREATE": "products/create",
    "PRODUCTS_UPDATE": "products/update",
    "PRODUCTS_DELETE": "products/delete",
    "CUSTOMERS_CREATE": "customers/create",
    "CUSTOMERS_UPDATE": "customers/update",
}
# Destinations Shopify accepts that the emulator cannot deliver to.
UNDELIVERABLE_SCHEMES = ("pubsub", "arn")


@dataclass(slots=True)
class SubscriptionSpec:
    """WebhookSubscriptionInput, reduced to what is modelled; `uri_field` names the input field the
    address came from (`uri` or the deprecated `callbackUrl`), for the userErrors' field paths."""

    uri: str | None = None
    uri_field: str = "uri"
    format: str | None = None
    include_fields: list[str] | None = None
    name: str | None = None


def http_uri(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _check_address(store: Store, topic: str, spec: SubscriptionSpec, own_id: int | None) -> None:
    path = ["webhookSubscription", spec.uri_field]
    if not spec.uri:
        raise UserErrors.one(path, "Address can't be blank")
    if not http_uri(spec.uri):
        raise UserErrors.one(path, "Address is invalid")
    for other in store.webhook_subscriptions.by_id.values():
        if other.id != own_id and other.topic == topic and other.uri == spec.uri:
            raise UserErrors.one(path, "Address for this topic has already been taken")


def create_subscription(store: Store, topic: str, spec: SubscriptionSpec) -> WebhookSubscription:
    _check_address(store, topic, spec, None)
    now = store.now()
    subscription = WebhookSubscription(
        store.next_id("webhook_subscription"),
        topic,
        spec.uri,
        now,
        now,
        spec.format or "JSON",
        list(spec.include_fields or []),
        spec.name,
    )
    store.save(subscription)
    return subscription


def update_subscription(store: Store, subscription: WebhookSubscription, spec: SubscriptionSpec) -> None:
    """Fields left out of the input keep their values."""
    if spec.uri is not None:
        _check_address(store, subscription.topic, spec, subscription.id)
        subscription.uri = spec.uri
    if spec.format is not None:
        subscription.format = spec.format
    if spec.include_fields is not None:
        subscription.include_fields = list(spec.include_fields)
    if spec.name is not None:
        subscription.name = spec.name
    subscription.updated_at = store.now()
    store.save(subscription)


def subscriptions_for(store: Store, topic_name: str) -> list[WebhookSubscription]:
    """The subscriptions to a topic, by its X-Shopify-Topic name, oldest first."""
    subscriptions = store.webhook_subscriptions.by_id.values()
    return sorted((s for s in subscriptions if TOPICS.get(s.topic) == topic_name), key=lambda s: s.id)
