"""Airflow hook: turns the `erp_default` Connection into a :class:`TrytonClient`.

Connection fields: Host (``http://127.0.0.1`` or a bare host name), Port, Schema = the Tryton database,
Login / Password = the integration user. Extra (JSON): ``web_shop`` (the name of the ERP's web shop
record for our store; required), optional ``page_size``, ``sale_batch_size``, ``read_timeout_s``,
``image_base_url`` (the ERP's public address the store fetches product images from; default: Host).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

from erpsync.tryton.client import TrytonClient
from erpsync.tryton.settings import TrytonSettings


class TrytonHook(BaseHook):
    conn_name_attr = "erp_conn_id"
    default_conn_name = "erp_default"
    conn_type = "tryton"
    hook_name = "Tryton ERP"

    def __init__(self, erp_conn_id: str = default_conn_name, *, web_shop: str | None = None, **kwargs: Any):
        """``web_shop``: the ERP web shop to work in instead of the Connection's (a store's own, see
        :func:`erpsync.store.hook.erp_web_shop`)."""
        super().__init__(**kwargs)
        self.erp_conn_id = erp_conn_id
        self.web_shop = web_shop

    @cached_property
    def settings(self) -> TrytonSettings:
        conn = self.get_connection(self.erp_conn_id)
        extra = conn.extra_dejson
        if self.web_shop:
            extra = {**extra, "web_shop": self.web_shop}
        return TrytonSettings.from_connection(
            host=conn.host, port=conn.port, schema=conn.schema, login=conn.login,
            password=conn.password, extra=extra, conn_id=self.erp_conn_id,
        )

    def get_conn(self) -> TrytonClient:
        return self.client

    @cached_property
    def client(self) -> TrytonClient:
        return self.settings.client()

    def test_connection(self) -> tuple[bool, str]:
        """Log in and read the web shop record: proves the URL, database, credentials and rights."""
        try:
            shop = self.client.web_shop
        except Exception as error:  # noqa: BLE001 - the UI shows the message
            return False, f"{type(error).__name__}: {error}"
        return True, (
            f"Connected to database {self.settings.database!r} as {self.settings.login!r}; web shop"
            f" {shop.name!r} with {len(shop.warehouses)} warehouse(s)"
        )
