"""The catalog DAG run by Airflow itself (dag.test) against the sandbox ERP, on both warehouse engines."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import raw_record, sync_cursor, sync_run

pytestmark = [pytest.mark.airflow, pytest.mark.erp]


@pytest.fixture
def catalog_dag(airflow_db):
    from airflow.models import DagBag

    from tests.conftest import REPO

    return DagBag(dag_folder=str(REPO / "dags" / "catalog_sync.py")).dags["catalog_sync"]


def rows_in_batch(engine, entity: str, batch_id: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(
            select(raw_record.c.record_key).where(raw_record.c.entity == entity, raw_record.c.batch_id == batch_id)
        ).scalars())


def test_first_run_lands_the_catalog_and_the_next_only_what_changed(
    catalog_dag, airflow_connections, erp_admin, monkeypatch
):
    from airflow.utils.state import DagRunState

    # The test ERP was built minutes ago: with the default 5-minute overlap the second run would re-read
    # the whole catalog. One second of lag lets it see only the change below.
    monkeypatch.setenv("AIRFLOW__ERPSYNC__EXTRACT_LAG_SECONDS", "1")
    engine = make_engine(airflow_connections)
    first = catalog_dag.test(logical_date=None, run_after=dt.datetime.now(dt.UTC))
    assert first.state == DagRunState.SUCCESS

    with engine.connect() as conn:
        run_row = conn.execute(select(sync_run).where(sync_run.c.run_id == first.run_id)).mappings().one()
        cursors = dict(conn.execute(select(sync_cursor.c.entity, sync_cursor.c.cursor_at)).all())
    assert run_row["status"] == "success"
    products_1 = run_row["counts"]["extract_products"]
    stock_1 = run_row["counts"]["extract_stock"]
    assert products_1["rows"] >= 500 and stock_1["rows"] >= 500
    assert set(cursors) == {"product", "stock_level"}

    # A change in the ERP after the first run: the next run reads it and little else.
    from erpsync.tryton.client import TrytonClient
    from sandbox.tryton import catalog

    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    (product,) = admin.model("product.product", "search_read", [("active", "=", True)], 5, 1, None, ["code"])
    admin.model("product.product", "write", [product["id"]], {"description": f"new {uuid.uuid4().hex}"})

    second = catalog_dag.test(logical_date=None, run_after=dt.datetime.now(dt.UTC))
    assert second.state == DagRunState.SUCCESS
    with engine.connect() as conn:
        counts = conn.execute(select(sync_run.c.counts).where(sync_run.c.run_id == second.run_id)).scalar_one()
    landed = rows_in_batch(engine, "product", counts["extract_products"]["batch_id"])
    assert product["code"] in landed
    assert len(landed) < products_1["rows"] / 10, "an incremental run reads the changes, not the catalog"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sync_run)).scalar_one() == 2
    engine.dispose()


def test_a_full_refresh_rereads_everything_and_a_sku_run_leaves_the_cursor(catalog_dag, airflow_connections):
    from airflow.utils.state import DagRunState

    engine = make_engine(airflow_connections)
    catalog_dag.test(logical_date=None, run_after=dt.datetime.now(dt.UTC))
    with engine.connect() as conn:
        cursor_before = conn.execute(select(sync_cursor.c.cursor_at).where(sync_cursor.c.entity == "product")).scalar_one()
        some_skus = list(conn.execute(select(raw_record.c.record_key).where(raw_record.c.entity == "product").limit(2)).scalars())

    # (dag.test runs every task in this process, where the DAG's params keep the last run's conf:
    # each run below states all its params.)
    targeted = catalog_dag.test(logical_date=None, run_after=dt.datetime.now(dt.UTC),
                                run_conf={"skus": some_skus, "full_refresh": False})
    assert targeted.state == DagRunState.SUCCESS
    with engine.connect() as conn:
        counts = conn.execute(select(sync_run.c.counts).where(sync_run.c.run_id == targeted.run_id)).scalar_one()
        cursor_after = conn.execute(select(sync_cursor.c.cursor_at).where(sync_cursor.c.entity == "product")).scalar_one()
    assert sorted(rows_in_batch(engine, "product", counts["extract_products"]["batch_id"])) == sorted(some_skus)
    assert cursor_after == cursor_before

    full = catalog_dag.test(logical_date=None, run_after=dt.datetime.now(dt.UTC), run_conf={"full_refresh": True, "skus": []})
    with engine.connect() as conn:
        counts = conn.execute(select(sync_run.c.counts).where(sync_run.c.run_id == full.run_id)).scalar_one()
    assert counts["extract_products"]["rows"] >= 500
    engine.dispose()
