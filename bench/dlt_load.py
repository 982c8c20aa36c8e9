"""dlt's merge load of staged product rows into PostgreSQL, for bench.warehouse to compare with ours.

Runs in its own environment (.venv-dlt: dlt's pins conflict with Airflow's), as
``python bench/dlt_load.py ROWS_FILE DATASET``: reads the rows (JSON lines, as bench.warehouse writes
them), loads them with ``write_disposition="merge", primary_key="sku"`` into a fresh dataset and prints
one JSON line with the timing of ``pipeline.run`` alone. The destination's credentials come from the
environment (``DESTINATION__POSTGRES__CREDENTIALS``), never from the command line.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import time
from decimal import Decimal

import dlt

DECIMALS = ("list_price", "sale_price")
TIMESTAMPS = ("source_updated_at", "staged_at")
JSON_COLUMNS = ("image_urls", "categories")


def read_rows(path: str) -> list[dict]:
    """The rows with their types back: decimals, aware timestamps (JSON lines carry them as text)."""
    rows = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            for name in DECIMALS:
                if row[name] is not None:
                    row[name] = Decimal(row[name])
            for name in TIMESTAMPS:
                row[name] = dt.datetime.fromisoformat(row[name])
            rows.append(row)
    return rows


def load(rows: list[dict], dataset: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="dlt-bench-") as pipelines_dir:
        pipeline = dlt.pipeline(pipeline_name="bench_products", pipelines_dir=pipelines_dir,
                                destination="postgres", dataset_name=dataset)
        started = time.monotonic()
        # The JSON columns stay JSON (as in stg_product), not child tables.
        pipeline.run(rows, table_name="stg_product", write_disposition="merge", primary_key="sku",
                     columns={name: {"data_type": "json"} for name in JSON_COLUMNS})
        seconds = time.monotonic() - started
        steps = {step.step: round((step.finished_at - step.started_at).total_seconds(), 3)
                 for step in pipeline.last_trace.steps if step.finished_at is not None}
        with pipeline.sql_client() as client:
            loaded = client.execute_sql("SELECT count(*) FROM stg_product")[0][0]
        file_format = pipeline.destination.capabilities().preferred_loader_file_format
    return {"rows": len(rows), "loaded": loaded, "seconds": seconds, "steps": steps,
            "dlt_version": dlt.__version__, "loader_file_format": file_format}


if __name__ == "__main__":
    rows_file, dataset_name = sys.argv[1:3]
    print(json.dumps(load(read_rows(rows_file), dataset_name)))
