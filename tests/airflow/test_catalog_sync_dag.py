"""The catalog DAG run by Airflow itself (dag.test) against the sandbox ERP and the store emulator, on
both warehouse engines."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erpsync.warehouse.engine import make_engine
from tests.airflow.conftest import run_dag
from erpsync.warehouse.schema import published_variant, quarantine, raw_record, sync_cursor, sync_run

pytestmark = [pytest.mark.airflow, pytest.mark.erp]


def run_counts(engine, run) -> dict:
    with engine.connect() as conn:
        return conn.execute(select(sync_run.c.counts).where(sync_run.c.run_id == run.run_id)).scalar_one()


def rows_in_batch(engine, entity: str, batch_id: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(
            select(raw_record.c.record_key).where(raw_record.c.entity == entity, raw_record.c.batch_id == batch_id)
        ).scalars())


def test_first_run_publishes_the_catalog_and_the_next_only_what_changed(
    catalog_dag, airflow_connections, erp_admin, store, monkeypatch
):
    # The test ERP was built minutes ago: with the default 5-minute overlap the second run would re-read
    # the whole catalog. One second of lag lets it see only the change below.
    monkeypatch.setenv("AIRFLOW__ERPSYNC__EXTRACT_LAG_SECONDS", "1")
    engine = make_engine(airflow_connections)

    first = run_counts(engine, run_dag(catalog_dag))
    assert first["extract_products"]["rows"] >= 500 and first["extract_stock"]["rows"] >= 500
    assert first["stage_catalog"]["products"]["staged"] >= 500
    assert first["publish_content"]["applied"] >= 150
    assert store.admin("GET", "/state")["counts"]["variants"] >= 500
    with engine.connect() as conn:
        cursors = dict(conn.execute(select(sync_cursor.c.entity, sync_cursor.c.cursor_at)).all())
        published = conn.execute(select(func.count()).select_from(published_variant)).scalar_one()
    assert set(cursors) == {"product", "stock_level"} and published >= 500

    # A change in the ERP after the first run: the next run reads it and little else.
    from erpsync.tryton.client import TrytonClient
    from sandbox.tryton import catalog

    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    (product,) = admin.model("product.product", "search_read", [("active", "=", True)], 5, 1, None,
                             ["code", "template"])
    admin.model("product.template", "write", [product["template"]], {"name": f"Renamed {uuid.uuid4().hex[:8]}"})

    second = run_counts(engine, run_dag(catalog_dag))
    landed = rows_in_batch(engine, "product", second["extract_products"]["batch_id"])
    assert product["code"] in landed
    assert len(landed) < first["extract_products"]["rows"] / 10, "an incremental run reads the changes only"
    assert second["publish_content"]["applied"] == 1
    assert second["publish_prices"]["changed"] == second["publish_inventory"]["changed"] == 0
    engine.dispose()


def test_a_sku_run_leaves_the_cursor_and_a_dry_run_changes_nothing(catalog_dag, airflow_connections, store):
    engine = make_engine(airflow_connections)
    run_dag(catalog_dag, dry_run=True)
    assert store.admin("GET", "/state")["counts"]["products"] == 0, "a dry run writes nothing to the store"
    with engine.connect() as conn:
        cursor_before = conn.execute(select(sync_cursor.c.cursor_at).where(sync_cursor.c.entity == "product")).scalar_one()
        some_skus = list(conn.execute(
            select(raw_record.c.record_key).where(raw_record.c.entity == "product").limit(2)).scalars())

    targeted = run_counts(engine, run_dag(catalog_dag, skus=some_skus))
    assert sorted(rows_in_batch(engine, "product", targeted["extract_products"]["batch_id"])) == sorted(some_skus)
    with engine.connect() as conn:
        cursor_after = conn.execute(select(sync_cursor.c.cursor_at).where(sync_cursor.c.entity == "product")).scalar_one()
        assert conn.execute(select(func.count()).select_from(quarantine)).scalar_one() == 0
    assert cursor_after == cursor_before
    engine.dispose()


def test_a_failed_publish_step_does_not_skip_the_steps_after_it(catalog_dag, airflow_connections, erp_admin, store,
                                                                 monkeypatch):
    from erpsync.sync.catalog import publish
    from erpsync.tryton.client import TrytonClient
    from sandbox.tryton import catalog
    from tests.support.erp import receive

    monkeypatch.setenv("AIRFLOW__ERPSYNC__EXTRACT_LAG_SECONDS", "1")
    for task in catalog_dag.tasks:
        task.retries = 0
    run_dag(catalog_dag)
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    main = admin.web_shop.warehouses[0]
    engine = make_engine(airflow_connections)
    with engine.connect() as conn:
        skus = conn.execute(select(published_variant.c.sku).where(published_variant.c.status == "ACTIVE")
                            .order_by(published_variant.c.sku).limit(50)).scalars().all()
    engine.dispose()
    levels = {sku: store.admin("GET", f"/inventory?sku={sku}")["levels"][main.name]["available"] for sku in skus}
    sku = next(sku for sku, level in levels.items() if level > 0)  # not floored at 0: +3 shows as +3
    before = levels[sku]
    (product,) = admin.model("product.product", "search", [("code", "=", sku)], 0, 1, None)
    receive(admin, product, main.id, Decimal(3))

    def broken(_run):
        raise RuntimeError("publish_content broke (injected)")

    monkeypatch.setattr(publish, "publish_content", broken)
    failed = run_dag(catalog_dag, expect="failed")
    states = {ti.task_id: ti.state for ti in failed.get_task_instances()}
    assert states["publish_content"] == "failed"
    assert states["publish_prices"] == states["publish_inventory"] == "success", states
    assert states["finish_run"] == "failed", "the run still says a step failed"
    assert store.admin("GET", f"/inventory?sku={sku}")["levels"][main.name]["available"] == before + 3
