"""The order DAG run by Airflow itself (dag.test): an order for a product the ERP does not know is held
and alerted once, then booked (and the alert resolved) once the product exists."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.shopify.settings import ShopifySettings
from erpsync.store.records import ProductDraft, VariantDraft
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import order_ledger, sync_run
from sandbox.tryton import catalog
from tests.airflow.conftest import run_dag
from tests.support.alerts import AlertChannels
from tests.support.erp import new_template

pytestmark = [pytest.mark.airflow, pytest.mark.erp]


def test_an_unknown_sku_holds_the_order_alerts_once_and_books_it_when_the_product_exists(
    catalog_dag, orders_dag, airflow_connections, erp_admin, store, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__ERPSYNC__EXTRACT_LAG_SECONDS", "1")
    engine = make_engine(airflow_connections)
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()
    with AlertChannels(monkeypatch) as channels:
        slack = channels.slack
        run_dag(catalog_dag, full_refresh=True)
        # A listing made in the store by hand, for a product the ERP creates only later.
        location = shop.locations()[0].id
        template_code = f"HANDMADE{uuid.uuid4().hex[:6].upper()}"  # the ERP is shared by the session's tests
        sku = f"{template_code}-1"
        shop.set_product(ProductDraft(None, "Hand-made listing", "", "ACTIVE", (), "Variant", (
            VariantDraft(sku, "One", Decimal("30.00"), None, None, ((location, 5),)),)))
        order = store.admin("POST", "/orders", {"lines": [{"sku": sku, "quantity": 1}], "email": "held@example.com"})

        held = run_dag(orders_dag, full_refresh=False)
        with engine.connect() as conn:
            status, counts = conn.execute(select(sync_run.c.status, sync_run.c.counts)
                                          .where(sync_run.c.run_id == held.run_id)).one()
        assert counts["stage_orders"]["quarantined"] == 1 and counts["ingest_orders"]["created"] == 0
        (alert,) = slack.titled("QUARANTINE store.order")
        assert "known_skus" in alert and order["id"] in alert
        run_dag(orders_dag, full_refresh=False)
        assert channels.titled("QUARANTINE store.order") == 1, "the same problem is not alerted twice"

        _, variants = new_template(admin, ["-1"], Decimal("30.00"), code=template_code)
        assert variants[0]["code"] == sku
        run_dag(catalog_dag)  # the product reaches staging
        run_dag(orders_dag, full_refresh=False)
        with engine.connect() as conn:
            state = conn.execute(select(order_ledger.c.state).where(order_ledger.c.store_order_id == order["id"]))
            assert state.scalar_one() == "confirmed"
        assert channels.titled("RESOLVED: QUARANTINE store.order") == 1
        assert not any("held@example.com" in text for text in channels.texts()), "no customer data"
    engine.dispose()


def test_a_failed_booking_does_not_skip_changes_and_fulfillments(orders_dag, airflow_connections, store, monkeypatch):
    from erpsync.sync.orders import ingest

    for task in orders_dag.tasks:
        task.retries = 0

    def broken(*_args, **_kwargs):
        raise RuntimeError("ingest_orders broke (injected)")

    monkeypatch.setattr(ingest, "ingest_orders", broken)
    failed = run_dag(orders_dag, expect="failed", full_refresh=False)
    states = {ti.task_id: ti.state for ti in failed.get_task_instances()}
    assert states["ingest_orders"] == "failed"
    assert states["apply_order_changes"] == states["push_fulfillments"] == "success", states
    assert states["finish_run"] == "failed"
