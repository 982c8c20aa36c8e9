"""Set-based writes on both engines: upserts repeat safely, cursors never go back, raw only appends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erpsync.warehouse import db
from erpsync.warehouse.schema import raw_record, stg_stock_level, sync_cursor, sync_run

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def stock_rows(n: int, quantity: str = "5") -> list[dict]:
    return [
        {"sku": f"SKU-{i:05d}", "warehouse_code": "WH", "erp_product_id": i, "erp_warehouse_id": 1,
         "quantity": Decimal(quantity), "forecast_quantity": Decimal(quantity), "batch_id": "b1",
         "staged_at": T0}
        for i in range(n)
    ]


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_upsert_twice_changes_nothing_and_updates_by_key(warehouse):
    # More rows than one statement carries, to cross a chunk boundary.
    rows = stock_rows(db.CHUNK_ROWS + 7)
    for _ in range(2):
        with warehouse.begin() as conn:
            db.upsert(conn, stg_stock_level, rows)
    assert count(warehouse, stg_stock_level) == len(rows)

    with warehouse.begin() as conn:
        db.upsert(conn, stg_stock_level, stock_rows(3, quantity="9"))
    with warehouse.connect() as conn:
        quantities = dict(conn.execute(select(stg_stock_level.c.sku, stg_stock_level.c.quantity)).all())
    assert quantities["SKU-00000"] == Decimal("9")
    assert quantities["SKU-00003"] == Decimal("5")
    assert count(warehouse, stg_stock_level) == len(rows)


def test_timestamps_come_back_aware_utc_and_naive_ones_are_refused(warehouse):
    with warehouse.begin() as conn:
        db.upsert(conn, stg_stock_level, stock_rows(1))
    with warehouse.connect() as conn:
        staged_at = conn.execute(select(stg_stock_level.c.staged_at)).scalar_one()
    assert staged_at == T0 and staged_at.tzinfo is not None

    naive = stock_rows(1)
    naive[0]["staged_at"] = T0.replace(tzinfo=None)
    with pytest.raises(Exception, match="naive datetime"), warehouse.begin() as conn:
        db.upsert(conn, stg_stock_level, naive)


def test_raw_landing_appends_every_time(warehouse):
    rows = [db.RawRow(f"SKU-{i}", {"sku": f"SKU-{i}", "price": "1.50"}, T0) for i in range(3)]
    for batch in ("b1", "b2"):
        with warehouse.begin() as conn:
            db.land_raw(conn, source="erp", entity="product", rows=rows, batch_id=batch, run_id="r",
                        extracted_at=T0)
    assert count(warehouse, raw_record) == 6
    with warehouse.connect() as conn:
        payload = conn.execute(select(raw_record.c.payload).limit(1)).scalar_one()
    assert payload == {"sku": "SKU-0", "price": "1.50"}


def test_the_cursor_only_moves_forward(warehouse):
    later = T0 + dt.timedelta(hours=1)
    with warehouse.begin() as conn:
        assert db.get_cursor(conn, "erp", "product") is None
        assert db.advance_cursor(conn, "erp", "product", later, run_id="r2", now=T0) == later
        # An older run finishing late (or a backfill) must not move it back.
        assert db.advance_cursor(conn, "erp", "product", T0, run_id="r1", now=T0) == later
    with warehouse.connect() as conn:
        assert db.get_cursor(conn, "erp", "product") == later
        assert db.get_cursor(conn, "erp", "stock_level") is None
    assert count(warehouse, sync_cursor) == 1


@pytest.mark.postgres
def test_two_runs_committing_at_once_never_move_the_cursor_back(request):
    """PostgreSQL, read committed (SQLite takes one writer at a time): a run that advances the cursor
    while a further one is not committed yet waits for it, then must leave the further cursor alone."""
    import threading

    from erpsync.warehouse.engine import make_engine
    from tests.conftest import pg_warehouse

    urls = pg_warehouse(request)
    engine = make_engine(next(urls))
    far, near = T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=1)
    with engine.begin() as conn:
        db.advance_cursor(conn, "erp", "product", T0, run_id="r0", now=T0)
    far_written, outcomes = threading.Event(), {}

    def near_run():
        far_written.wait(timeout=30)
        with engine.begin() as conn:  # reads the committed T0, then waits for the far run's row lock
            outcomes["near"] = db.advance_cursor(conn, "erp", "product", near, run_id="near", now=T0)

    waiting = threading.Thread(target=near_run)
    waiting.start()
    with engine.begin() as conn:
        outcomes["far"] = db.advance_cursor(conn, "erp", "product", far, run_id="far", now=T0)
        far_written.set()
        waiting.join(timeout=2)  # the near run is now blocked behind this uncommitted write
        assert waiting.is_alive(), "the near run waits for the far run's transaction"
    waiting.join(timeout=30)
    assert not waiting.is_alive() and outcomes == {"far": far, "near": far}
    with engine.connect() as conn:
        assert db.get_cursor(conn, "erp", "product") == far
    engine.dispose()
    next(urls, None)  # drop the database


def test_a_rerun_of_the_same_airflow_run_reuses_its_run_row(warehouse):
    for attempt in range(2):
        db.start_run(warehouse, flow="catalog", dag_id="catalog_sync", run_id="manual__1",
                     logical_date=T0, window_start=None, window_end=T0, now=T0)
        db.finish_run(warehouse, flow="catalog", dag_id="catalog_sync", run_id="manual__1",
                      status="success", counts={"extract_products": {"rows": attempt}},
                      timings={"extract_products": 0.5}, error=None, now=T0)
    with warehouse.connect() as conn:
        rows = conn.execute(select(sync_run.c.status, sync_run.c.counts)).all()
    assert rows == [("success", {"extract_products": {"rows": 1}})]


def test_finishing_a_run_that_never_started_is_an_error(warehouse):
    with pytest.raises(LookupError, match="start_run was not called"):
        db.finish_run(warehouse, flow="catalog", dag_id="d", run_id="r", status="success", counts={},
                      timings={}, error=None, now=T0)
