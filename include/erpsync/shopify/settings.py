"""How to reach the store, separate from the secret: built from an Airflow Connection or by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from erpsync.common.http import connection_url, require
from erpsync.shopify.client import API_VERSION, ShopifyClient
from erpsync.shopify.store import ShopifyStore
from erpsync.shopify.webhooks import parse_delivery
from erpsync.store.events import Endpoint, NoWebhooks

# Points restored per second by plan (shopify.dev, "GraphQL Admin API rate limits").
RESTORE_RATES = {"STANDARD": 100.0, "ADVANCED": 200.0, "PLUS": 1000.0, "ENTERPRISE": 2000.0}


@dataclass(frozen=True)
class ShopifySettings:
    shop_url: str  # "my-shop.myshopify.com" (https) or a full URL (the emulator: http://127.0.0.1:8100)
    access_token: str = field(repr=False)
    api_version: str = API_VERSION
    plan: str = "STANDARD"
    store_name: str | None = None  # how the warehouse names this store; default: the shop's host
    read_timeout_s: float = 60.0
    webhook_secret: str | None = field(default=None, repr=False)  # the app's client secret: signs webhooks

    def __post_init__(self) -> None:
        if self.plan not in RESTORE_RATES:
            raise ValueError(f"unknown Shopify plan {self.plan!r}: one of {', '.join(RESTORE_RATES)}")

    @property
    def restore_rate(self) -> float:
        return RESTORE_RATES[self.plan]

    @property
    def name(self) -> str:
        return self.store_name or self.shop_url.split("://")[-1].rstrip("/")

    @classmethod
    def from_connection(cls, *, host: str | None, port: int | None, password: str | None, schema: str | None,
                        extra: dict[str, Any], conn_id: str) -> ShopifySettings:
        require(conn_id, {"host": host, "password (the access token)": password})
        return cls(
            shop_url=connection_url(host, port, default_scheme="https"), access_token=password,
            api_version=extra.get("api_version") or schema or API_VERSION,
            plan=str(extra.get("plan", "STANDARD")).upper(),
            store_name=extra.get("store_name"),
            read_timeout_s=float(extra.get("read_timeout_s", 60.0)),
            webhook_secret=extra.get("webhook_secret") or None,
        )

    def client(self, **kwargs: Any) -> ShopifyClient:
        return ShopifyClient(self.shop_url, self.access_token, api_version=self.api_version,
                             read_timeout_s=self.read_timeout_s, **kwargs)

    def store(self, **kwargs: Any) -> ShopifyStore:
        return ShopifyStore(self.client(**kwargs), name=self.name)

    def webhook_endpoint(self, conn_id: str) -> Endpoint:
        """The store's webhook endpoint: deliveries proven with the app's client secret."""
        if not self.webhook_secret:
            raise NoWebhooks(f"Connection {conn_id!r} has no webhook_secret in its extra: set it to the "
                             "Shopify app's client secret (API secret key) to receive this store's webhooks")
        return Endpoint(store=self.name, parse=partial(parse_delivery, secret=self.webhook_secret))
