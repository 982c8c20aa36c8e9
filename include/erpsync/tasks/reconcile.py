"""Tasks of the reconciliation (DAG ``reconcile``): the store's webhook subscriptions, order gaps (it stages
the store's recent orders, which the catalog's availability subtracts), then catalog drift; each repairs
through the normal paths, records its figures in the run log and alerts above its threshold."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import task

from erpsync.store.hook import DEFAULT_CONN_ID
from erpsync.tasks.config import catalog_config, order_lag
from erpsync.tasks.runtime import RunInfo

FLOW = "reconcile"
STEPS = ("subscribe_webhooks", "reconcile_orders", "reconcile_catalog")


def _book():
    from erpsync.alerts import channels
    from erpsync.alerts.book import AlertBook
    from erpsync.alerts.config import AlertConfig
    from erpsync.warehouse.hook import WarehouseHook

    config = AlertConfig.load()
    return AlertBook(WarehouseHook().get_conn(), channels.send,
                     renotify_after=dt.timedelta(hours=config.renotify_hours)), config


@task(pool="store_api_background")
def subscribe_webhooks(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """Make sure the store delivers its order events to our receiver (``[erpsync] webhook_base_url`` +
    ``/erpsync-webhooks/<connection id>``): missing subscriptions are created (a store drops those whose
    deliveries keep failing), the others kept. Nothing to do, and said so in the counts, when the base URL
    is not set (subscriptions managed by hand), the store kind sends no webhooks, or the Connection has no
    ``webhook_secret`` (deliveries could not be verified, so they would all be refused). A topic the
    store refuses fails the task (the FAILED alert names it); the others are subscribed first."""
    import time

    from airflow.configuration import conf

    from erpsync.events.subscriptions import receiver_uri
    from erpsync.store.errors import StoreRequestError
    from erpsync.store.hook import store_hook

    started = time.monotonic()
    base_url = conf.get("erpsync", "webhook_base_url", fallback="").strip()
    hook = store_hook(store_conn)
    store = hook.background_store
    if not base_url:
        return {"off": "[erpsync] webhook_base_url is not set", "seconds": 0.0}
    if not store.capabilities().webhooks:
        return {"off": f"store {store.name} sends no webhooks: its orders are polled", "seconds": 0.0}
    if not getattr(hook.settings, "webhook_secret", None):
        return {"off": f"Connection {store_conn!r} has no webhook_secret", "seconds": 0.0}
    uri = receiver_uri(base_url, store_conn)
    result = store.subscribe_webhooks(uri)
    if result.failed:
        raise StoreRequestError(f"store {store.name} refused webhook subscriptions to {uri}: " + "; ".join(
            f"{topic}: {why}" for topic, why in result.failed))
    return {"uri": uri, "kept": len(result.kept), "created": list(result.created),
            "seconds": round(time.monotonic() - started, 3)}


# In the store's background pool, not store_api: reading the whole store takes minutes on a large
# catalog, and holding store_api that long would stop the flows (measured: orders 2 minutes late). The
# background client leaves half of the cost bucket to the flows, so both can draw from it at once.
@task(pool="store_api_background")
def reconcile_orders(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """Compare the store's orders of the last days with the ERP's sales; book the missing ones."""
    from airflow.sdk import Variable

    from erpsync.alerts import rules
    from erpsync.store.hook import erp_hook, store_hook
    from erpsync.sync.orders.config import VARIABLE, OrdersConfig
    from erpsync.sync.reconcile.run import reconcile_orders as reconcile
    from erpsync.tasks.stores import other_store_names
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    until = run.window_end + dt.timedelta(seconds=1)
    since = run.window_end - dt.timedelta(days=float(run.params.get("orders_days", 3)))
    now = dt.datetime.now(dt.UTC)
    store = store_hook(store_conn).background_store
    gaps = reconcile(store, erp_hook(store_conn).client, WarehouseHook().get_conn(),
                     config=OrdersConfig.parse(Variable.get(VARIABLE, default=None)), since=since, until=until,
                     run_id=run.run_id, now=now, catalog=catalog_config(),
                     share_with=other_store_names(store_conn),
                     patience=dt.timedelta(minutes=float(run.params.get("in_flight_minutes", 30))),
                     flow_lag=order_lag())
    book, config = _book()
    rules.check_drift(book, dag_id=run.dag_id, run_id=run.run_id, area="orders", drift=gaps.gaps,
                      threshold=config.max_order_gaps, now=now, store=store.name)
    book.raise_undelivered()
    return gaps.as_counts()


@task(pool="store_api_background")
def reconcile_catalog(store_conn: str = DEFAULT_CONN_ID, **context: Any) -> dict[str, Any]:
    """Compare the whole store catalog (variants, prices, status, inventory) with the published and the
    desired state; repair the drift through the publish path."""
    from erpsync.alerts import rules
    from erpsync.store.hook import erp_hook, store_hook
    from erpsync.sync.catalog.publish import PublishRun
    from erpsync.sync.reconcile.run import reconcile_catalog as reconcile
    from erpsync.tasks.stores import channel_of, own_web_shop
    from erpsync.warehouse.hook import WarehouseHook

    run = RunInfo.from_context(context)
    now = dt.datetime.now(dt.UTC)
    erp = erp_hook(store_conn).client
    store = store_hook(store_conn).background_store
    drift = reconcile(PublishRun(
        store=store, engine=WarehouseHook().get_conn(),
        config=catalog_config(), run_id=run.run_id, now=now,
        dry_run=not run.params.get("repair", True), warehouses={w.code: w.name for w in erp.web_shop.warehouses},
        channel=channel_of(store_conn), web_shop=own_web_shop(store_conn), order_lag=order_lag(),
    ))
    book, config = _book()
    rules.check_drift(book, dag_id=run.dag_id, run_id=run.run_id, area="catalog", drift=drift.drift,
                      threshold=config.max_catalog_drift, now=now, store=store.name)
    book.raise_undelivered()
    return drift.as_counts()
