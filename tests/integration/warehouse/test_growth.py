"""bench.growth's measure on a PostgreSQL warehouse: the rows a span of traffic added, by each table's own
time column, after the warm-up; the catalog-sized tables as they are."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.growth import measure
from erpsync.sync.housekeeping.policy import RetentionConfig
from erpsync.warehouse.schema import published_inventory, raw_record, stg_order, stg_order_line, sync_run

pytestmark = pytest.mark.postgres

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def engine(pg_engine):
    return pg_engine


def seed(engine) -> None:
    with engine.begin() as conn:
        conn.execute(sync_run.insert(), [
            {"flow": "orders", "dag_id": "orders_sync", "run_id": f"run-{m}", "status": "success",
             "started_at": at(m), "counts": {}, "timings": {}} for m in (0, 10, 70)])
        conn.execute(raw_record.insert(), [
            {"source": "erp", "entity": "stock_level", "record_key": f"SKU-{m}", "batch_id": "b",
             "extracted_at": at(m), "payload": {"sku": f"SKU-{m}"}}
            for m in [1, 2, 3] + [6 + 5 * n for n in range(13)]])  # 3 in the warm-up, 13 after (up to 66)
        conn.execute(stg_order.insert(), [
            {"store": "s", "store_order_id": f"o{m}", "store_created_at": at(m), "store_updated_at": at(m),
             "currency": "USD", "subtotal": 1, "discount_total": 0, "shipping_total": 0, "tax_total": 0,
             "total": 1, "requires_shipping": True, "batch_id": "b", "staged_at": at(80)}
            for m in (4, 20, 30)])
        conn.execute(stg_order_line.insert(), [
            {"store": "s", "store_order_id": f"o{m}", "store_line_id": str(n), "sku": "SKU", "quantity": 1,
             "current_quantity": 1, "unit_price": 1, "discount_total": 0, "tax_total": 0,
             "requires_shipping": True, "batch_id": "b", "staged_at": at(80)}
            for m in (4, 20, 30) for n in range(3)])
        conn.execute(published_inventory.insert(), [
            {"store": "s", "sku": f"P-{n}", "location_key": "L", "quantity": 1, "published_at": at(60)}
            for n in range(4)])


def test_rows_an_hour_are_counted_after_the_warm_up_by_each_tables_own_time(engine):
    seed(engine)
    tables, span = measure(engine, RetentionConfig(raw_days=7), dt.timedelta(minutes=5))
    by_name = {t.table: t for t in tables}
    hours = 65 / 60  # from the warm-up's end (5 min) to the last run (70 min)
    assert span["hours"] == round(hours, 3)
    assert by_name["raw_record"].rows_per_hour == pytest.approx(13 / hours)
    assert by_name["raw_record"].kept_days == 7 and by_name["raw_record"].rows == 16
    assert by_name["stg_order"].rows_per_hour == pytest.approx(2 / hours)
    assert by_name["stg_order_line"].rows_per_hour == pytest.approx(6 / hours), "by their order's time"
    assert by_name["stg_order_line"].kept_days is None
    assert by_name["sync_run"].rows_per_hour == pytest.approx(2 / hours)  # 10 and 70
    catalog_sized = by_name["published_inventory"]
    assert (catalog_sized.rows_per_hour, catalog_sized.rows, catalog_sized.kept_days) == (0, 4, 0)
    assert catalog_sized.bytes > 0

    part, span = measure(engine, RetentionConfig(), dt.timedelta(0), until=at(10))
    assert span["hours"] == round(10 / 60, 3)
    raw = {t.table: t for t in part}["raw_record"]
    assert raw.rows_per_hour == pytest.approx(4 / (10 / 60))  # at 1, 2, 3 and 6 minutes
