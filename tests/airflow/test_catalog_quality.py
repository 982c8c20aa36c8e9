"""Bad rows and bad batches, run by Airflow (dag.test) against the sandbox ERP and the store emulator:
quarantine with reasons while the rest publishes, guardrail holds, alerts sent once, releases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.shopify.settings import ShopifySettings
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import quarantine, sync_run
from sandbox.tryton import catalog
from tests.airflow.conftest import run_dag
from tests.support.alerts import AlertChannels

pytestmark = [pytest.mark.airflow, pytest.mark.erp]


def prices(store, skus) -> dict:
    return {v.sku: v.price for page in store.iter_variants(skus=skus) for v in page}


def run_row(engine, run):
    with engine.connect() as conn:
        return conn.execute(select(sync_run.c.status, sync_run.c.counts).where(sync_run.c.run_id == run.run_id)).one()


def test_bad_rows_are_quarantined_big_moves_held_alerts_sent_once_and_fixes_released(
    catalog_dag, airflow_connections, erp_admin, erp_settings, store, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__ERPSYNC__EXTRACT_LAG_SECONDS", "1")
    engine = make_engine(airflow_connections)
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()
    with AlertChannels(monkeypatch) as channels:
        run_dag(catalog_dag, full_refresh=True)
        assert channels.count == 0

        bad, swung = admin.model("product.template", "search_read", [("active", "=", True), ("salable", "=", True)],
                                 40, 2, [("id", "ASC")], ["list_price", "products", "name"])
        bad_skus = [p["code"] for p in admin.model("product.product", "read", bad["products"], ["code"])]
        swung_skus = [p["code"] for p in admin.model("product.product", "read", swung["products"], ["code"])]
        published_swung = prices(shop, swung_skus)
        admin.model("product.template", "write", [bad["id"]], {"list_price": Decimal(0)})
        admin.model("product.template", "write", [swung["id"]], {"list_price": swung["list_price"] * 3})

        held_run = run_dag(catalog_dag)
        status, counts = run_row(engine, held_run)
        assert status == "held"
        assert counts["stage_catalog"]["products"]["quarantined"] == len(bad_skus)
        assert counts["publish_prices"]["held"][0]["guardrail"] == "price_swing"
        with engine.connect() as conn:
            rows = conn.execute(select(quarantine.c.record_key, quarantine.c.failed_expectations, quarantine.c.reason)
                                .where(quarantine.c.status == "open")).all()
        assert {key for key, _, _ in rows} == set(bad_skus)
        assert all("list_price_positive" in checks and "list price" in reason for _, checks, reason in rows)
        assert prices(shop, swung_skus) == published_swung, "held prices did not reach the store"
        assert channels.titled("QUARANTINE erp.product") == 1
        assert channels.titled("price_swing guardrail held") == 1
        (quarantined,) = channels.smtp.titled("QUARANTINE erp.product")
        assert "list_price_positive: " in quarantined["body"] and bad_skus[0] in quarantined["body"]

        run_dag(catalog_dag)  # the same problems, one run later: no new alert
        assert channels.count == 2

        admin.model("product.template", "write", [bad["id"]], {"list_price": bad["list_price"]})
        released = run_dag(catalog_dag)
        assert run_row(engine, released)[1]["stage_catalog"]["products"]["released"] == len(bad_skus)
        assert channels.titled("RESOLVED: QUARANTINE erp.product") == 1
        assert prices(shop, swung_skus) == published_swung, "still held until approved"

        approved = run_dag(catalog_dag, approve_held=True)
        assert run_row(engine, approved)[0] == "success"
        assert all(price > published_swung[sku] * 2 for sku, price in prices(shop, swung_skus).items())
        assert channels.titled("RESOLVED: HELD catalog_sync") == 1
        assert channels.count == 4
        secrets = [store.token(), erp_settings.password]
        assert not any(secret in text for secret in secrets for text in channels.texts())
    engine.dispose()
