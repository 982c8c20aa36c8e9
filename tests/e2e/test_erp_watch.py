"""The ERP change watcher under the real scheduler and triggerer: a price change in the ERP starts
catalog_sync within seconds while its interval is an hour away."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from erpsync.sync.catalog.extract import SOURCE
from erpsync.sync.catalog.watch import WATCHED, newest_changes
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse import db
from erpsync.warehouse.engine import make_engine
from sandbox.airflow_local import wait_for
from sandbox.tryton import catalog
from tests.conftest import running_airflow, scheduler_connections, settle_after_unpause

pytestmark = [pytest.mark.e2e, pytest.mark.erp]

WITHIN_S = 10.0  # the watcher looks every second; the scheduler queues an asset-triggered run within ~1-2 s


@pytest.fixture(scope="module")
def watching_airflow(tmp_path_factory, erp_sandbox, erp_settings, store_emulator, pg_server):
    yield from running_airflow(tmp_path_factory, erp_sandbox, erp_settings, store_emulator, {
        # Polling an hour away: a run within seconds is the watcher's.
        "AIRFLOW__ERPSYNC__CATALOG_INTERVAL_SECONDS": "3600",
        "AIRFLOW__ERPSYNC__ERP_WATCH_SECONDS": "1",
    })


def triggerer_cpu_share(airflow, seconds: float) -> float:
    """The triggerer's share of one core over ``seconds``: user + system time of all its processes (the
    supervisor and the trigger runner it starts, where the triggers run), from /proc."""
    pids = [p for p in airflow.processes() if b"triggerer" in Path(f"/proc/{p}/cmdline").read_bytes()]

    def ticks() -> int:
        total = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total

    start, began = ticks(), time.monotonic()
    time.sleep(seconds)
    return (ticks() - start) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - began)


def asset_runs(airflow) -> list[dict]:
    response = airflow.http.get(f"{airflow.url}/api/v2/dags/catalog_sync/dagRuns",
                                params={"run_type": "asset_triggered"}, timeout=30)
    response.raise_for_status()
    return response.json()["dag_runs"]


def test_a_price_change_in_the_erp_starts_catalog_sync_within_seconds(
        watching_airflow, erp_sandbox, erp_settings, store_emulator, store, warehouse_url, erp_admin):
    airflow = watching_airflow
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    engine = make_engine(warehouse_url)
    try:
        # The catalog has been read up to the ERP's newest change (a quick incremental first run).
        newest = max(at for _, at in newest_changes(admin, {}, None)) + dt.timedelta(microseconds=1)
        with engine.begin() as conn:
            for entity in WATCHED:
                db.advance_cursor(conn, SOURCE, entity, newest, run_id="test", now=newest)
    finally:
        engine.dispose()
    airflow.configure(
        connections=scheduler_connections(erp_sandbox, erp_settings, store_emulator, warehouse_url))
    airflow.wait_for_dag(airflow.http, "catalog_sync")
    idle_off = triggerer_cpu_share(airflow, 30)  # the DAG paused: no watcher runs
    airflow.unpause(airflow.http, "catalog_sync")
    settle_after_unpause(airflow, "catalog_sync")
    wait_for(lambda: "watching the ERP for catalog changes" in airflow.log_file.read_text(errors="replace"),
             timeout_s=120, what="the triggerer starts the ERP change watcher")
    idle_on = triggerer_cpu_share(airflow, 30)  # also 30 s of the watcher looking at an unchanged ERP
    assert asset_runs(airflow) == [], "nothing changed: no run"

    (template,) = admin.model("product.template", "search_read", [("salable", "=", True)], 130, 1,
                              [("id", "ASC")], ["list_price"])
    changed = time.monotonic()
    admin.model("product.template", "write", [template["id"]],
                {"list_price": (template["list_price"] * Decimal("1.05")).quantize(Decimal("0.01"))})
    runs = wait_for(lambda: asset_runs(airflow), timeout_s=60, what="an asset-triggered catalog_sync run",
                    interval_s=0.2)
    latency = time.monotonic() - changed
    print(f"\nERP change -> catalog_sync run queued: {latency:.2f} s; triggerer idle CPU share of a "
          f"core: {idle_off:.3f} watcher off (DAG paused), {idle_on:.3f} watcher on (1 s)",
          file=sys.__stderr__)
    assert len(runs) == 1
    assert latency < WITHIN_S
    state = airflow.wait_for_run(airflow.http, "catalog_sync", runs[0]["dag_run_id"], timeout_s=300)
    assert state == "success", airflow.task_states(airflow.http, "catalog_sync", runs[0]["dag_run_id"])
    time.sleep(5)
    assert len(asset_runs(airflow)) == 1, "the change was announced once"
