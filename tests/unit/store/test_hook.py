"""The store factory (erpsync.store.hook): the Connection's type chooses the store kind."""

from __future__ import annotations

import json

import pytest

from erpsync.shopify.hook import ShopifyHook
from erpsync.shopify.store import ShopifyStore
from erpsync.store.hook import StoreConnectionError, hook_class, store_hook, store_kinds
from erpsync.vendure.hook import VendureHook
from erpsync.vendure.store import VendureStore


def test_every_store_type_of_the_provider_has_a_hook_serving_that_type():
    kinds = store_kinds()
    assert kinds == {"shopify": "erpsync.shopify.hook.ShopifyHook", "vendure": "erpsync.vendure.hook.VendureHook"}
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


def test_a_vendure_connection_makes_a_vendure_store_by_login_or_by_api_key(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_STORE_B2B", json.dumps({
        "conn_type": "vendure", "host": "https://b2b.example.com", "login": "sync", "password": "secret",
        "extra": {"store_name": "b2b", "requests_per_second": 5}}))
    hook = store_hook("store_b2b")
    assert type(hook) is VendureHook and type(hook.store) is VendureStore and hook.store.name == "b2b"
    assert hook.store.client.endpoint == "https://b2b.example.com/admin-api"
    assert (hook.settings.username, hook.settings.api_key, hook.store.client.pacer.rate) == ("sync", None, 5.0)
    assert hook.background_store.client.pacer.rate < hook.store.client.pacer.rate
    monkeypatch.setenv("AIRFLOW_CONN_STORE_B2B", json.dumps({
        "conn_type": "vendure", "host": "b2b.example.com", "password": "an-api-key"}))
    by_key = store_hook("store_b2b")
    assert (by_key.settings.username, by_key.settings.password, by_key.settings.api_key) == (None, None, "an-api-key")
    assert by_key.store.name == "b2b.example.com" and "an-api-key" not in repr(by_key.settings)


@pytest.mark.parametrize("conn_type", ["http", "tryton", None])
def test_a_connection_that_is_not_a_store_is_refused_with_the_fix(monkeypatch, conn_type):
    monkeypatch.setenv("AIRFLOW_CONN_STORE_DEFAULT", json.dumps({"conn_type": conn_type, "host": "h"}))
    with pytest.raises(StoreConnectionError) as refused:
        store_hook()
    assert "'store_default'" in str(refused.value) and "shopify" in str(refused.value)


def test_each_store_books_in_the_erp_web_shop_its_connection_names(monkeypatch):
    from erpsync.store.hook import erp_hook

    monkeypatch.setenv("AIRFLOW_CONN_ERP_DEFAULT", json.dumps({
        "conn_type": "tryton", "host": "erp.example.com", "schema": "erp", "login": "sync", "password": "x",
        "extra": {"web_shop": "Online Store"}}))
    monkeypatch.setenv("AIRFLOW_CONN_STORE_DEFAULT", json.dumps({
        "conn_type": "shopify", "host": "main.myshopify.com", "password": "shpat_x"}))
    monkeypatch.setenv("AIRFLOW_CONN_STORE_B2B", json.dumps({
        "conn_type": "vendure", "host": "https://b2b.example.com", "password": "key",
        "extra": {"erp_web_shop": "B2B Portal"}}))
    assert erp_hook("store_default").settings.web_shop == "Online Store"  # the ERP Connection's own
    assert erp_hook("store_b2b").settings.web_shop == "B2B Portal"
    assert erp_hook("store_b2b").settings.login == "sync"  # everything else is erp_default's
