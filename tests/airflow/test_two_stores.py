"""Two stores configured (`[erpsync] stores`), their DAGs run by Airflow itself (dag.test): the Shopify
emulator as the primary store and a stock Vendure server as the second, each on its own ERP web shop.

While the Vendure server is down, Shopify's flows run as before (their runs succeed, their steps stay
fresh) and only Vendure's own DAGs fail; once it is back, the order it took before going down is booked
once, on its own web shop, and its catalog converges (including the units Shopify sold meanwhile)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import sync_run, sync_step
from sandbox.tryton import catalog
from sandbox.vendure.shopper import Guest, guest_checkout
from tests.airflow.conftest import PARAM_DEFAULTS, run_dag
from tests.sandbox.conftest_vendure import *  # noqa: F403 - the `vendure` and `erp_seeded` fixtures
from tests.sandbox.conftest_vendure import product_store
from tests.support.clock import next_second
from tests.support.erp import last_sale_id, sales_of
from tests.support.offers import offered, well_stocked

# Minutes (a Vendure outage waits out the client's retries): `make test-long`. On PostgreSQL, the production
# engine: the queries it runs are tested on both engines by their own tests.
pytestmark = [pytest.mark.airflow, pytest.mark.erp, pytest.mark.vendure, pytest.mark.long, pytest.mark.postgres,
              pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)]

VENDURE = "store_vendure"
GUEST = Guest("Emma", "Dubois", "emma@example.com", "3 High Street", "Toronto", "M5V 2T6", "ON", "CA")


def load(file: str, dag_id: str):
    from airflow.models import DagBag

    from tests.conftest import REPO

    dag = DagBag(dag_folder=str(REPO / "dags" / f"{file}.py")).dags[dag_id]
    PARAM_DEFAULTS[dag_id] = {name: param.value for name, param in dag.params.items()}
    return dag


@pytest.fixture
def dags(airflow_db, airflow_connections, erp_seeded, monkeypatch):
    """The four flows of two stores, parsed with both stores configured."""
    credentials = erp_seeded.credentials()
    monkeypatch.setenv("AIRFLOW__ERPSYNC__STORES", f"store_default,{VENDURE}")
    monkeypatch.setenv("AIRFLOW__ERPSYNC__EXTRACT_LAG_SECONDS", "1")
    monkeypatch.setenv(f"AIRFLOW_CONN_{VENDURE.upper()}", json.dumps({
        "conn_type": "vendure", "host": erp_seeded.url, "login": credentials["username"],
        "password": credentials["password"],
        "extra": {"store_name": "vendure-outlet", "erp_web_shop": catalog.VENDURE_WEB_SHOP_NAME}}))
    found = {
        "catalog": load("catalog_sync", "catalog_sync"), "orders": load("orders_sync", "orders_sync"),
        "vendure_orders": load("orders_sync", f"orders_sync__{VENDURE}"),
        "vendure_catalog": load("catalog_publish", f"catalog_publish__{VENDURE}"),
    }
    for name in ("vendure_orders", "vendure_catalog"):  # a failed step fails now, not after its retries
        for task in found[name].tasks:
            task.retries = 0
    return found


def test_one_store_down_never_stops_the_other_and_catches_up_when_back(dags, erp_seeded, store, erp_admin,
                                                                        airflow_connections):
    from erpsync.shopify.settings import ShopifySettings

    engine = make_engine(airflow_connections)
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()
    outlet = product_store(erp_seeded)
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    booked_after = last_sale_id(admin)
    run_dag(dags["catalog"], full_refresh=True)
    run_dag(dags["vendure_catalog"], full_refresh=True)
    on_vendure, on_shopify = well_stocked(shop, outlet, 2)
    vendure_before = offered(outlet, [on_shopify])[on_shopify]

    (variant,) = [v for page in outlet.iter_variants(skus=[on_vendure]) for v in page]
    sold = guest_checkout(erp_seeded.shop(), [(variant.variant_id, 1)], GUEST)
    next_second()
    erp_seeded.stop()
    down_at = dt.datetime.now(dt.UTC)
    try:
        placed = store.admin("POST", "/orders", {"lines": [{"sku": on_shopify, "quantity": 2}],
                                                 "email": "ava@example.com"})
        next_second()
        # Shopify's flows, with the second store down: they succeed, and book Shopify's order.
        run_dag(dags["orders"], full_refresh=False)
        run_dag(dags["catalog"])
        # Vendure's own flows fail, and only they.
        run_dag(dags["vendure_orders"], expect="failed", full_refresh=False)
        run_dag(dags["vendure_catalog"], expect="failed")
    finally:
        erp_seeded.start()
    with engine.connect() as conn:
        fresh = {(row.flow, row.store, row.step) for row in conn.execute(
            select(sync_step).where(sync_step.c.last_success_at >= down_at))}
        failed = conn.execute(select(sync_run.c.dag_id).where(sync_run.c.status == "failed")).scalars().all()
    assert ("orders", "test-store", "ingest_orders") in fresh and ("catalog", "", "publish_inventory") in fresh, fresh
    assert sorted(failed) == sorted([f"orders_sync__{VENDURE}", f"catalog_publish__{VENDURE}"])

    # Back: Vendure's order is booked once, on its own web shop; its catalog converges.
    run_dag(dags["vendure_orders"], full_refresh=False)
    run_dag(dags["vendure_orders"], full_refresh=False)
    run_dag(dags["vendure_catalog"])

    def shops_of(web_id: str) -> list[str]:
        return [s["web_shop."]["name"] for s in sales_of(admin, web_id, booked_after)]

    assert shops_of(sold["id"]) == [catalog.VENDURE_WEB_SHOP_NAME]
    assert shops_of(placed["id"]) == [catalog.WEB_SHOP_NAME]
    assert offered(outlet, [on_shopify])[on_shopify] == vendure_before - 2, "Shopify's sale reached Vendure's availability"
    engine.dispose()
