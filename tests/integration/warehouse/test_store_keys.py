"""Two stores in one warehouse: their cursors, raw batches, runs and step freshness live side by side and
never touch each other (counted per store); the ERP's rows stay the ERP's ('')."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from erpsync.sync.state import step_log
from erpsync.warehouse import db
from erpsync.warehouse.schema import raw_record, sync_cursor, sync_run, sync_step

T0 = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
EU, US = "shop-eu", "shop-us"


def _per_store(engine, table) -> Counter:
    with engine.connect() as conn:
        return Counter(dict(conn.execute(select(table.c.store, func.count()).group_by(table.c.store)).all()))


def test_each_store_has_its_own_order_cursor_beside_the_erps(warehouse):
    with warehouse.begin() as conn:
        db.advance_cursor(conn, "erp", "product", T0, run_id="c1", now=T0)
        db.advance_cursor(conn, "store", "order", T0 + dt.timedelta(minutes=5), run_id="o1", now=T0, store=EU)
        db.advance_cursor(conn, "store", "order", T0 + dt.timedelta(minutes=1), run_id="o2", now=T0, store=US)
        # One store's cursor moving on (or an older run of it finishing late) leaves the other's where it is.
        db.advance_cursor(conn, "store", "order", T0 + dt.timedelta(minutes=9), run_id="o3", now=T0, store=US)
        db.advance_cursor(conn, "store", "order", T0, run_id="late", now=T0, store=EU)
    with warehouse.connect() as conn:
        assert db.get_cursor(conn, "store", "order", store=EU) == T0 + dt.timedelta(minutes=5)
        assert db.get_cursor(conn, "store", "order", store=US) == T0 + dt.timedelta(minutes=9)
        assert db.get_cursor(conn, "erp", "product") == T0
        assert db.get_cursor(conn, "store", "order") is None, "no order cursor outside a store"
    assert _per_store(warehouse, sync_cursor) == Counter({"": 1, EU: 1, US: 1})


def test_raw_batches_carry_the_store_they_were_read_from(warehouse):
    with warehouse.begin() as conn:
        for store, keys in ((EU, ["1", "2"]), (US, ["1"])):
            db.land_raw(conn, source="store", entity="order", rows=[db.RawRow(k, {"order_id": k}, T0) for k in keys],
                        batch_id=f"b-{store}", run_id="r", extracted_at=T0, store=store)
    assert _per_store(warehouse, raw_record) == Counter({EU: 2, US: 1})


def test_two_stores_runs_and_steps_are_two_rows_each(warehouse):
    for store, run_id in ((EU, "scheduled__1"), (US, "scheduled__1")):
        db.start_run(warehouse, flow="orders", dag_id="orders_sync", run_id=run_id, logical_date=T0,
                     window_start=None, window_end=T0, now=T0, store=store)
    db.finish_run(warehouse, flow="orders", dag_id="orders_sync", run_id="scheduled__1", status="success", counts={},
                  timings={}, error=None, now=T0, store=EU)
    with warehouse.begin() as conn:
        step_log.record_outcomes(conn, store=EU, flow="orders", dag_id="orders_sync", run_id="scheduled__1",
                                 succeeded=["ingest_orders", "push_fulfillments"], failed=[], now=T0)
        step_log.record_outcomes(conn, store=US, flow="orders", dag_id="orders_sync", run_id="scheduled__1",
                                 succeeded=["ingest_orders"], failed=["push_fulfillments"], now=T0)
    with warehouse.connect() as conn:
        statuses = sorted(tuple(r) for r in conn.execute(select(sync_run.c.store, sync_run.c.status)))
        steps = step_log.read(conn)
    assert statuses == [(EU, "success"), (US, "running")], "finishing one store's run left the other's open"
    assert _per_store(warehouse, sync_step) == Counter({EU: 2, US: 2})
    assert sorted(steps["orders"]) == [f"{EU}/ingest_orders", f"{EU}/push_fulfillments", f"{US}/ingest_orders",
                                       f"{US}/push_fulfillments"]
    assert not steps["orders"][f"{EU}/push_fulfillments"].failing
    assert steps["orders"][f"{US}/push_fulfillments"].failing, "one store's failing step stays that store's"
