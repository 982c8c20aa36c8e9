"""The shop object and the node/nodes lookups across every modelled type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.ids import gid, gid_type, parse_gid, parse_inventory_level_gid
from sandbox.shopify.resolvers.base import resolver, store_of
from sandbox.shopify.resolvers.orders import order_part
from sandbox.shopify.resolvers.returns import find_return, find_reverse_fulfillment_order
from sandbox.shopify.state.edits import calculate
from sandbox.shopify.settings import SHOP_CURRENCY, SHOP_DOMAIN, SHOP_NAME
from sandbox.shopify.state.store import Store

_NODES: dict[str, Callable[[Store, int], Any]] = {
    "Product": lambda store, i: store.products.get(i),
    "ProductVariant": lambda store, i: store.variants.get(i),
    "MediaImage": lambda store, i: store.media.get(i),
    "InventoryItem": lambda store, i: store.items.get(i),
    "Location": lambda store, i: store.locations.get(i),
    "Customer": lambda store, i: store.customers.get(i),
    "Order": lambda store, i: store.orders.get(i),
    "FulfillmentOrder": lambda store, i: order_part(
        store, store.order_of_fulfillment_order, i, "fulfillment_orders"
    ),
    "Fulfillment": lambda store, i: order_part(store, store.order_of_fulfillment, i, "fulfillments"),
    "Refund": lambda store, i: order_part(store, store.order_of_refund, i, "refunds"),
    "WebhookSubscription": lambda store, i: store.webhook_subscriptions.get(i),
    "CalculatedOrder": lambda store, i: (
        calculate(store, store.order_edits.get(i)) if store.order_edits.get(i) else None
    ),
    "OrderEditSession": lambda store, i: store.order_edits.get(i),
    "Return": find_return,
    "ReverseFulfillmentOrder": find_reverse_fulfillment_order,
}


def find_node(store: Store, node_id: str) -> Any:
    type_name = gid_type(node_id)
    if type_name == "InventoryLevel":
        pair = parse_inventory_level_gid(node_id)
        return store.levels.get((pair[1], pair[0])) if pair else None
    lookup = _NODES.get(type_name or "")
    return lookup(store, parse_gid(node_id, type_name)) if lookup else None


@resolver("QueryRoot", "node")
def resolve_node(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:
    return find_node(store_of(info), id)


@resolver("QueryRoot", "nodes")
def resolve_nodes(_root: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
    store = store_of(info)
    return [find_node(store, node_id) for node_id in ids]


@resolver("QueryRoot", "shop")
def resolve_shop(_root: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    plan = info.context.plan_name
    url = f"https://{SHOP_DOMAIN}"
    return {
        "id": gid("Shop", 1),
        "name": SHOP_NAME,
        "myshopifyDomain": SHOP_DOMAIN,
        "currencyCode": SHOP_CURRENCY,
        "email": f"owner@{SHOP_DOMAIN}",
        "contactEmail": f"owner@{SHOP_DOMAIN}",
        "ianaTimezone": "Etc/UTC",
        "url": url,
        "primaryDomain": {"id": gid("Domain", 1), "host": SHOP_DOMAIN, "url": url, "sslEnabled": True},
        "plan": {
            "displayName": plan.title(),
            "publicDisplayName": plan.title(),
            "partnerDevelopment": False,
            "shopifyPlus": plan in ("PLUS", "ENTERPRISE"),
        },
    }
