"""Which stores a deployment serves (``[erpsync] stores``) and what their Airflow objects are called."""

from __future__ import annotations

import pytest

from erpsync.tasks.stores import StoresConfigError, StoreSlot, parse_stores


def test_the_default_is_the_one_default_store():
    assert parse_stores(None) == parse_stores("") == parse_stores(" , ") == [StoreSlot("store_default", True)]


def test_stores_keep_their_order_the_first_is_primary_and_duplicates_go():
    slots = parse_stores("store_default, store_vendure\nstore_default,outlet.b2b")
    assert [(s.conn_id, s.primary) for s in slots] == [
        ("store_default", True), ("store_vendure", False), ("outlet.b2b", False)]


def test_the_primary_keeps_the_plain_names_the_others_get_their_own():
    primary, other = parse_stores("shop_a,shop_b")
    assert (primary.dag_id("orders_sync"), primary.pool, primary.background_pool, primary.tag) == (
        "orders_sync", "store_api", "store_api_background", "store:shop_a")
    assert (other.dag_id("orders_sync"), other.pool, other.background_pool, other.tag) == (
        "orders_sync__shop_b", "store_api__shop_b", "store_api_background__shop_b", "store:shop_b")


def test_something_that_cannot_be_a_connection_id_is_refused_by_name():
    with pytest.raises(StoresConfigError, match="'shop/b'"):
        parse_stores("shop_a,shop/b")


def test_a_store_s_order_flow_runs_on_its_own_interval_or_its_events(monkeypatch):
    import datetime as dt

    from airflow.sdk import AssetOrTimeSchedule

    from erpsync.tasks.stores import orders_schedule

    monkeypatch.setenv("AIRFLOW__ERPSYNC__ORDERS_INTERVAL_SECONDS", "30")
    monkeypatch.setenv("AIRFLOW__ERPSYNC__ORDERS_INTERVAL_SECONDS__STORE_DEFAULT", "300")
    with_webhooks, polled = parse_stores("store_default,store_vendure")
    slow, fast = orders_schedule(with_webhooks), orders_schedule(polled)
    assert isinstance(slow, AssetOrTimeSchedule) and isinstance(fast, AssetOrTimeSchedule)
    assert (slow.timetable.delta == dt.timedelta(seconds=300)
            and fast.timetable.delta == dt.timedelta(seconds=30))
    assert slow.asset_condition.name == "erpsync_store_events__store_default"
    monkeypatch.setenv("AIRFLOW__ERPSYNC__ORDERS_INTERVAL_SECONDS__STORE_DEFAULT", "-1")  # events only
    assert orders_schedule(with_webhooks).name == "erpsync_store_events__store_default"
    monkeypatch.setenv("AIRFLOW__ERPSYNC__ORDERS_INTERVAL_SECONDS__STORE_DEFAULT", "0")
    assert orders_schedule(with_webhooks) == "@continuous"
