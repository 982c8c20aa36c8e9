"""Airflow hook: turns a store Connection of type ``vendure`` into a :class:`VendureStore`.

Connection fields: Host (and Port) = the Vendure server (``https://shop.example.com``; the Admin API is
its ``/admin-api``), Login + Password = the integration's administrator, or Password alone = an API key.
Extra (JSON): optional ``channel_token`` (a channel other than the default), ``store_name``,
``requests_per_second`` (our pacing, default 40), ``read_timeout_s``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

from erpsync.vendure.settings import VendureSettings
from erpsync.vendure.store import VendureStore

BACKGROUND_SHARE = 0.25  # of the pacing rate, for background work (reconciliation)


class VendureHook(BaseHook):
    conn_name_attr = "store_conn_id"
    default_conn_name = "store_default"
    conn_type = "vendure"
    hook_name = "Vendure store"

    def __init__(self, store_conn_id: str = default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.store_conn_id = store_conn_id

    @cached_property
    def settings(self) -> VendureSettings:
        conn = self.get_connection(self.store_conn_id)
        return VendureSettings.from_connection(host=conn.host, port=conn.port, login=conn.login,
                                               password=conn.password, extra=conn.extra_dejson,
                                               conn_id=self.store_conn_id)

    @cached_property
    def store(self) -> VendureStore:
        return self.settings.store()

    @cached_property
    def background_store(self) -> VendureStore:
        """The store for background work (reconciliation): a quarter of the pacing rate, so that a long
        read leaves the server to the shoppers and the flows."""
        return self.settings.store(requests_per_second=self.settings.requests_per_second * BACKGROUND_SHARE)

    def get_conn(self) -> VendureStore:
        return self.store

    def test_connection(self) -> tuple[bool, str]:
        """Read the channel and the stock locations: proves the URL, the credentials and their role."""
        try:
            capabilities = self.store.capabilities()
            locations = self.store.locations()
        except Exception as error:  # noqa: BLE001 - the UI shows the message
            return False, f"{type(error).__name__}: {error}"
        return True, f"Connected to {self.settings.base_url} ({capabilities.currency}), {len(locations)} stock location(s)"
