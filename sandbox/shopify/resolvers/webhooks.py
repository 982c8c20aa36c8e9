"""Webhook subscriptions: the queries, webhookSubscriptionCreate/Update/Delete and the WebhookSubscription
type. Deliveries are webhooks.py's business; this module only keeps the subscriptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.errors import NotModelled, UserErrors
from sandbox.shopify.ids import gid
from sandbox.shopify.resolvers.base import (
    Searchable,
    count_matching,
    graphql_type,
    resolver,
    search_connection,
    store_of,
)
from sandbox.shopify.resolvers.common import id_resolver, legacy_id, numeric_id
from sandbox.shopify.search import SearchField
from sandbox.shopify.settings import API_VERSION
from sandbox.shopify.state.records import WebhookSubscription
from sandbox.shopify.state.store import epoch
from sandbox.shopify.state.webhooks import (
    TOPICS,
    UNDELIVERABLE_SCHEMES,
    SubscriptionSpec,
    create_subscription,
    update_subscription,
)

graphql_type(WebhookSubscription, "WebhookSubscription")

SUBSCRIPTION_SEARCH = Searchable(
    collection=lambda store: store.webhook_subscriptions,
    fields={
        "id": SearchField(lambda s: s.id, "id", "WebhookSubscription"),
        "created_at": SearchField(lambda s: s.created_at, "datetime"),
        "updated_at": SearchField(lambda s: s.updated_at, "datetime"),
        # webhookSubscriptionsCount documents these two as well.
        "topic": SearchField(lambda s: [s.topic, TOPICS.get(s.topic)], "any"),
        "endpoint": SearchField(lambda s: s.uri, "exact"),
    },
    default_text=lambda s: f"{s.uri} {s.name or ''}",
    sort_keys={
        "ID": ("ID", lambda s: s.id),
        "CREATED_AT": ("CREATED_AT", lambda s: epoch(s.created_at)),
    },
    range_fields={"id": ("ID", int)},
)


# -- queries -------------------------------------------------------------------------------------------


@resolver("QueryRoot", "webhookSubscription")
def resolve_subscription(_root: Any, info: GraphQLResolveInfo, id: str) -> WebhookSubscription | None:
    return store_of(info).webhook_subscriptions.get(numeric_id(id, "WebhookSubscription"))


@resolver("QueryRoot", "webhookSubscriptions")
def resolve_subscriptions(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    topics = set(args.get("topics") or ())
    uri = args.get("uri") or args.get("callbackUrl")
    wanted_format = args.get("format")

    def base(subscription: WebhookSubscription) -> bool:
        return (
            (not topics or subscription.topic in topics)
            and (uri is None or subscription.uri == uri)
            and (wanted_format is None or subscription.format == wanted_format)
        )

    return search_connection(info, args, SUBSCRIPTION_SEARCH, base=base)


@resolver("QueryRoot", "webhookSubscriptionsCount")
def resolve_subscriptions_count(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return count_matching(info, SUBSCRIPTION_SEARCH, {"limit": 10000, **args})


# -- WebhookSubscription -------------------------------------------------------------------------------

resolver("WebhookSubscription", "id")(id_resolver("WebhookSubscription"))
resolver("WebhookSubscription", "legacyResourceId")(legacy_id)


@resolver("WebhookSubscription", "callbackUrl")
def resolve_callback_url(subscription: WebhookSubscription, _info: GraphQLResolveInfo) -> str:
    return subscription.uri


@resolver("WebhookSubscription", "endpoint")
def resolve_endpoint(subscription: WebhookSubscription, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return {"__typename": "WebhookHttpEndpoint", "callbackUrl": subscription.uri}


@resolver("WebhookSubscription", "apiVersion")
def resolve_api_version(_subscription: WebhookSubscription, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return {"handle": API_VERSION, "displayName": API_VERSION, "supported": True}


for _name, _value in {"filter": None, "metafieldNamespaces": [], "metafields": []}.items():
    resolver("WebhookSubscription", _name)(lambda _s, _i, _value=_value, **_a: _value)


# -- mutations -----------------------------------------------------------------------------------------


def _spec(info: GraphQLResolveInfo, data: Mapping[str, Any]) -> SubscriptionSpec:
    """The modelled part of WebhookSubscriptionInput; the rest is refused rather than ignored."""
    for name in ("filter", "metafieldNamespaces", "metafields"):
        if data.get(name):
            raise NotModelled(f"WebhookSubscriptionInput.{name}", info)
    if data.get("format") == "XML":
        raise NotModelled("Webhook format XML", info)
    uri_field = "uri" if data.get("uri") is not None else "callbackUrl"
    uri = data.get(uri_field)
    if uri is not None and uri.split(":", 1)[0] in UNDELIVERABLE_SCHEMES:
        raise NotModelled("Pub/Sub and EventBridge webhook destinations", info)
    return SubscriptionSpec(uri, uri_field, data.get("format"), data.get("includeFields"), data.get("name"))


def _not_found() -> list[Any]:
    return UserErrors.one(["id"], "Webhook subscription does not exist").errors


@resolver("Mutation", "webhookSubscriptionCreate")
def resolve_create(
    _root: Any, info: GraphQLResolveInfo, topic: str, webhookSubscription: Mapping[str, Any]
) -> dict[str, Any]:
    if topic not in TOPICS:
        raise NotModelled(f"Webhook topic {topic}", info)
    try:
        created = create_subscription(store_of(info), topic, _spec(info, webhookSubscription))
    except UserErrors as failure:
        return {"webhookSubscription": None, "userErrors": failure.errors}
    return {"webhookSubscription": created, "userErrors": []}


@resolver("Mutation", "webhookSubscriptionUpdate")
def resolve_update(
    _root: Any, info: GraphQLResolveInfo, id: str, webhookSubscription: Mapping[str, Any]
) -> dict[str, Any]:
    store = store_of(info)
    subscription = store.webhook_subscriptions.get(numeric_id(id, "WebhookSubscription"))
    if subscription is None:
        return {"webhookSubscription": None, "userErrors": _not_found()}
    try:
        update_subscription(store, subscription, _spec(info, webhookSubscription))
    except UserErrors as failure:
        return {"webhookSubscription": None, "userErrors": failure.errors}
    return {"webhookSubscription": subscription, "userErrors": []}


@resolver("Mutation", "webhookSubscriptionDelete")
def resolve_delete(_root: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    store = store_of(info)
    subscription = store.webhook_subscriptions.get(numeric_id(id, "WebhookSubscription"))
    if subscription is None:
        return {"deletedWebhookSubscriptionId": None, "userErrors": _not_found()}
    store.delete(subscription)
    return {"deletedWebhookSubscriptionId": gid("WebhookSubscription", subscription.id), "userErrors": []}
