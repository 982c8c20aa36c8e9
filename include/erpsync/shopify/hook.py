"""Airflow hook: turns the `store_default` Connection into a :class:`ShopifyStore`.

Connection fields: Host = the shop (``my-shop.myshopify.com``; a full URL for the emulator), Password =
the Admin API access token. Extra (JSON): ``api_version`` (default 2026-10), ``plan`` (STANDARD,
ADVANCED, PLUS or ENTERPRISE: the restore rate we expect), optional ``store_name``, ``read_timeout_s``,
``webhook_secret`` (the app's client secret: the store's
webhooks are received, verified with it, at ``/erpsync-webhooks/<connection id>`` of the Airflow API server).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

from erpsync.shopify.pacing import CostBucket
from erpsync.shopify.settings import ShopifySettings
from erpsync.shopify.store import ShopifyStore
from erpsync.store.events import Endpoint

BACKGROUND_RESERVE_SHARE = 0.5
# Background work yields to the flows: while they keep the bucket below the reserve (an order burst read at
# the plan's rate), its calls wait, up to reconcile's interval, instead of failing the task.
BACKGROUND_THROTTLE_PATIENCE_S = 900.0


class ShopifyHook(BaseHook):
    conn_name_attr = "store_conn_id"
    default_conn_name = "store_default"
    conn_type = "shopify"
    hook_name = "Shopify store"

    def __init__(self, store_conn_id: str = default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.store_conn_id = store_conn_id

    @staticmethod
    def webhook_endpoint(conn: Any) -> Endpoint:
        """The webhook endpoint of a store Connection (an Airflow ``Connection``, as the API server reads
        it): raises :class:`~erpsync.store.events.NoWebhooks` without a ``webhook_secret``."""
        return ShopifySettings.from_connection(
            host=conn.host, port=conn.port, password=conn.password, schema=conn.schema,
            extra=conn.extra_dejson, conn_id=conn.conn_id).webhook_endpoint(conn.conn_id)

    @cached_property
    def settings(self) -> ShopifySettings:
        conn = self.get_connection(self.store_conn_id)
        return ShopifySettings.from_connection(
            host=conn.host, port=conn.port, password=conn.password, schema=conn.schema,
            extra=conn.extra_dejson, conn_id=self.store_conn_id,
        )

    @cached_property
    def store(self) -> ShopifyStore:
        return self.settings.store()

    @cached_property
    def background_store(self) -> ShopifyStore:
        """The store for background work (reconciliation): its calls leave half of the cost bucket to
        the flows, so that a long read never delays what customers and the ERP are waiting for."""
        return self.settings.store(bucket=CostBucket(reserve_share=BACKGROUND_RESERVE_SHARE),
                                   throttle_patience_s=BACKGROUND_THROTTLE_PATIENCE_S)

    def get_conn(self) -> ShopifyStore:
        return self.store

    def test_connection(self) -> tuple[bool, str]:
        """Read the shop and its locations: proves the URL, API version, token and its scopes."""
        try:
            shop = self.store.shop_info()
            locations = self.store.locations()
        except Exception as error:  # noqa: BLE001 - the UI shows the message
            return False, f"{type(error).__name__}: {error}"
        return True, f"Connected to {shop['name']} ({shop['myshopifyDomain']}), {len(locations)} location(s)"
