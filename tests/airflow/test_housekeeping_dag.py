"""The housekeeping DAG run by Airflow itself (dag.test), on both warehouse engines: its cut-offs come from
the run's data interval (a day long ago deletes what it would have then, not what the clock says), and
a second run of the same day changes nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import raw_record
from tests.airflow.conftest import load_dag
from tests.conftest import warehouse_connection

pytestmark = [pytest.mark.airflow]

# A run made at 2026-06-01 03:17 covers the day that ended then (Airflow's manual interval of a cron
# schedule): raw rows are kept 14 days back from it, personal data 7.
RUN_AT = INTERVAL_END = dt.datetime(2026, 6, 1, 3, 17, tzinfo=dt.UTC)


def test_a_run_deletes_what_its_day_would_have_and_a_second_run_nothing(airflow_db, monkeypatch, warehouse_url):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", json.dumps(warehouse_connection(warehouse_url)))
    monkeypatch.setenv("AIRFLOW_VAR_ERPSYNC_RETENTION", json.dumps({"raw_days": 14, "personal_data_days": 7}))
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:  # all far older than the wall clock's 14 days: only the data interval tells
        conn.execute(raw_record.insert(), [
            {"source": "store", "store": "store_default", "entity": "order", "record_key": key, "batch_id": "b",
             "extracted_at": INTERVAL_END - dt.timedelta(days=days),
             "payload": {"order_id": key, "customer": {"email": f"{key}@example.com"}}}
            for key, days in (("gone", 15), ("blanked", 13), ("kept", 6))])
    dag = load_dag("housekeeping")
    for _ in range(2):
        run = dag.test(logical_date=RUN_AT)
        assert run.state == "success", run.run_id
        assert run.data_interval_end == INTERVAL_END
        with engine.connect() as conn:
            rows = {key: (payload["customer"]["email"], purged is not None) for key, payload, purged in conn.execute(
                select(raw_record.c.record_key, raw_record.c.payload, raw_record.c.personal_data_purged_at))}
        assert rows == {"blanked": (None, True), "kept": ("kept@example.com", False)}
    engine.dispose()
