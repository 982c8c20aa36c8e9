"""How to reach a Vendure server, separate from the secret: built from an Airflow Connection or by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from erpsync.common.http import connection_url, require
from erpsync.vendure.client import VendureClient
from erpsync.vendure.pacing import RequestPacer
from erpsync.vendure.store import VendureStore


@dataclass(frozen=True)
class VendureSettings:
    base_url: str  # the server, without /admin-api: "https://shop.example.com", "http://127.0.0.1:3000"
    username: str | None = None  # an administrator whose role allows the integration's work
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)  # instead of a login (tokenMethod 'api-key')
    channel_token: str | None = None  # another channel than the default one
    store_name: str | None = None  # how the warehouse names this store; default: the server's host
    requests_per_second: float = 40.0
    read_timeout_s: float = 60.0
    follow_orders_days: float = 7.0  # how long after it was placed an order is watched for changes

    @property
    def name(self) -> str:
        return self.store_name or self.base_url.split("://")[-1].rstrip("/")

    @classmethod
    def from_connection(cls, *, host: str | None, port: int | None, login: str | None, password: str | None,
                        extra: dict[str, Any], conn_id: str) -> VendureSettings:
        """Host (and Port) = the server; Login + Password = an administrator, or Password alone = an API
        key. Extra: ``channel_token``, ``store_name``, ``requests_per_second``, ``read_timeout_s``,
        ``follow_orders_days``."""
        require(conn_id, {"host": host, "password (the administrator's, or an API key)": password})
        return cls(
            base_url=connection_url(host, port, default_scheme="https"),
            username=login or None, password=password if login else None, api_key=None if login else password,
            channel_token=extra.get("channel_token"), store_name=extra.get("store_name"),
            requests_per_second=float(extra.get("requests_per_second", 40.0)),
            read_timeout_s=float(extra.get("read_timeout_s", 60.0)),
            follow_orders_days=float(extra.get("follow_orders_days", 7.0)),
        )

    def client(self, *, requests_per_second: float | None = None) -> VendureClient:
        rate = self.requests_per_second if requests_per_second is None else requests_per_second
        return VendureClient(self.base_url, username=self.username, password=self.password, api_key=self.api_key,
                             channel_token=self.channel_token, read_timeout_s=self.read_timeout_s,
                             pacer=RequestPacer(rate=rate))

    def store(self, **kwargs: Any) -> VendureStore:
        return VendureStore(self.client(**kwargs), name=self.name, follow_orders_days=self.follow_orders_days)
