"""Catalog flow, ERP -> store. Wiring only: the steps live in ``erpsync.tasks.catalog``."""

import datetime as dt

from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from erpsync.tasks import catalog, runlog
from erpsync.tasks.defaults import DEFAULT_ARGS, TAGS_ERP

DOC = """
### Catalog sync (ERP -> store)

**What it does.** Reads from the Tryton ERP what changed since the last successful run (products and
their templates and prices, stock levels per warehouse of the web shop) and lands it in the warehouse's
raw layer (`raw_record`), then records the run in `sync_run`.
Each extract reads the window `[cursor - 5 min, end of this run's data interval)`; its cursor
(`sync_cursor`) moves only after everything read was committed, so a failed or cleared run re-reads
the same window. Rerunning any task or the whole run is safe.

**Params (manual runs).** `full_refresh`: read the whole catalog instead of the changes. `skus`:
re-read only these SKUs (the cursor is left alone).

**Needs.** Connections `erp_default` (type *Tryton ERP*; extra `{"web_shop": "<the ERP's web shop
name>"}`) and `warehouse_default` (postgres, or sqlite with the file path as host); pool `erp_api`.

**When it fails.**
- *ErpAuthError*: the ERP refused the login: check the `erp_default` login/password and that the
  integration user is active. Test it from Admin > Connections.
- *ErpTransportError*: the ERP could not be reached after retries: check the ERP server, then clear
  the failed task; nothing is lost (the cursor did not move).
- *no web shop named ...*: set `extra.web_shop` of `erp_default` to the ERP's web shop name.
- *finish_run: step(s) without a result*: an upstream step failed; its own log says why.
"""

with DAG(
    dag_id="catalog_sync",
    description="ERP catalog, prices and stock -> warehouse (-> store)",
    doc_md=DOC,
    schedule=CronDataIntervalTimetable("*/10 * * * *", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=True,
    default_args=DEFAULT_ARGS,
    tags=["catalog", TAGS_ERP],
    params={
        "full_refresh": Param(False, type="boolean", description="Read the whole catalog, not the changes."),
        "skus": Param([], type="array", items={"type": "string"}, description="Only these SKUs."),
    },
) as dag:
    started = runlog.start_run(flow=catalog.FLOW)
    products = catalog.extract_products()
    stock = catalog.extract_stock()
    finished = runlog.finish_run(flow=catalog.FLOW, steps=["extract_products", "extract_stock"])
    started >> [products, stock] >> finished
