"""Deployment settings of the product, read at run time from Airflow's configuration, section
``[erpsync]`` (or ``AIRFLOW__ERPSYNC__<KEY>`` environment variables), never at DAG parse time."""

from __future__ import annotations

import datetime as dt


def _conf():
    from airflow.configuration import conf

    return conf


def extract_lag() -> dt.timedelta:
    """How far before the previous window's end each incremental extract starts again.

    It must exceed the longest ERP transaction (rows are stamped with their transaction's start) plus
    any clock skew between the ERP and Airflow. Default 300 s.
    """
    return dt.timedelta(seconds=_conf().getint("erpsync", "extract_lag_seconds", fallback=300))


def order_lag() -> dt.timedelta:
    """How far before the previous window's end each order extract starts again (the store's clock and
    second-precision timestamps; an order saved as the previous run read). Default 120 s."""
    return dt.timedelta(seconds=_conf().getint("erpsync", "order_lag_seconds", fallback=120))


def catalog_config():
    """The catalog flow's configuration (Airflow Variable ``erpsync_catalog``): its store location -> ERP
    warehouse mapping also says where the order flow books sales."""
    from airflow.sdk import Variable

    from erpsync.sync.catalog.config import VARIABLE, CatalogConfig

    return CatalogConfig.parse(Variable.get(VARIABLE, default=None))


def store_customers(store_conn: str) -> str:
    """Whether the customers flow runs for this store, and which way (``[erpsync] store_customers``, or
    ``store_customers__<store connection id>`` for one store): ``off`` (the default), ``both``,
    ``to_store`` (ERP parties become store accounts) or ``to_erp`` (store accounts become ERP parties)."""
    conf = _conf()
    value = conf.get("erpsync", "store_customers", fallback="off")
    return conf.get("erpsync", f"store_customers__{store_conn}", fallback=value).strip().lower()
