"""How to reach the ERP, separate from the secret: built from an Airflow Connection or by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from erpsync.common.http import connection_url, require
from erpsync.common.retry import Backoff
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.rpc import TrytonRpc


@dataclass(frozen=True)
class TrytonSettings:
    base_url: str
    database: str
    login: str
    password: str = field(repr=False)
    web_shop: str
    page_size: int = 500
    sale_batch_size: int = 25
    read_timeout_s: float = 120.0
    image_base_url: str | None = None  # the ERP's public address for product images (default: base_url)

    @classmethod
    def from_connection(
        cls, *, host: str | None, port: int | None, schema: str | None, login: str | None,
        password: str | None, extra: dict[str, Any], conn_id: str,
    ) -> TrytonSettings:
        require(conn_id, {"host": host, "schema (the Tryton database)": schema, "login": login,
                          "password": password, "extra.web_shop": extra.get("web_shop")})
        return cls(
            base_url=connection_url(host, port, default_scheme="http"), database=schema, login=login,
            password=password,
            web_shop=extra["web_shop"],
            page_size=int(extra.get("page_size", 500)),
            sale_batch_size=int(extra.get("sale_batch_size", 25)),
            read_timeout_s=float(extra.get("read_timeout_s", 120.0)),
            image_base_url=extra.get("image_base_url"),
        )

    def client(self, *, backoff: Backoff = Backoff()) -> TrytonClient:
        rpc = TrytonRpc(
            self.base_url, self.database, self.login, self.password,
            read_timeout_s=self.read_timeout_s, backoff=backoff,
        )
        return TrytonClient(rpc, web_shop=self.web_shop, page_size=self.page_size,
                            sale_batch_size=self.sale_batch_size, image_base_url=self.image_base_url)
