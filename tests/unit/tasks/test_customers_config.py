"""The customers flow is off unless turned on, for all stores or one."""

from __future__ import annotations

import datetime as dt

import pytest

from erpsync.sync.customers.run import sync_customers
from erpsync.tasks.config import store_customers


def test_off_by_default(monkeypatch):
    monkeypatch.delenv("AIRFLOW__ERPSYNC__STORE_CUSTOMERS", raising=False)
    monkeypatch.delenv("AIRFLOW__ERPSYNC__STORE_CUSTOMERS__STORE_VENDURE", raising=False)
    assert store_customers("store_vendure") == "off"


def test_on_for_all_stores_or_one(monkeypatch):
    monkeypatch.setenv("AIRFLOW__ERPSYNC__STORE_CUSTOMERS", "Both")
    monkeypatch.setenv("AIRFLOW__ERPSYNC__STORE_CUSTOMERS__STORE_VENDURE", "to_erp")
    assert (store_customers("store_default"), store_customers("store_vendure")) == ("both", "to_erp")


def test_a_direction_it_does_not_know_is_refused_naming_the_setting():
    with pytest.raises(ValueError, match=r"store_customers is 'sideways': use one of off, both, to_store, to_erp"):
        sync_customers(None, None, None, direction="sideways", window_end=dt.datetime.now(dt.UTC), run_id=None,
                       now=dt.datetime.now(dt.UTC), lag=dt.timedelta(0))
