"""The store factory (erpsync.store.hook): the Connection's type chooses the store kind."""

from __future__ import annotations

import json

import pytest

from erpsync.shopify.hook import ShopifyHook
from erpsync.shopify.store import ShopifyStore
from erpsync.store.hook import StoreConnectionError, hook_class, store_hook, store_kinds


def test_every_store_type_of_the_provider_has_a_hook_serving_that_type():
    kinds = store_kinds()
    assert kinds == {"shopify": "erpsync.shopify.hook.ShopifyHook"}
    for conn_type in kinds:
        assert hook_class(conn_type, conn_id="x").conn_type == conn_type


def test_a_shopify_connection_makes_a_shopify_store_named_by_its_extra(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_STORE_OUTLET", json.dumps({
        "conn_type": "shopify", "host": "outlet.myshopify.com", "password": "shpat_x",
        "extra": {"store_name": "outlet"}}))
    hook = store_hook("store_outlet")
    assert type(hook) is ShopifyHook and hook.store_conn_id == "store_outlet"
    assert type(hook.store) is ShopifyStore and hook.store.name == "outlet"
    assert hook.store.client.endpoint.startswith("https://outlet.myshopify.com/admin/api/")


@pytest.mark.parametrize("conn_type", ["http", "tryton", None])
def test_a_connection_that_is_not_a_store_is_refused_with_the_fix(monkeypatch, conn_type):
    monkeypatch.setenv("AIRFLOW_CONN_STORE_DEFAULT", json.dumps({"conn_type": conn_type, "host": "h"}))
    with pytest.raises(StoreConnectionError) as refused:
        store_hook()
    assert "'store_default'" in str(refused.value) and "shopify" in str(refused.value)
